"""Local history as the sync jobs leave it, for pages, figures and alerts: a balance sync (`snapshot`) or a
failed one (`failed_sync`), a day of usage (`day_usage`, days counted back with `utc_midnight`), and a
month of everything (`seed_history`)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.figures import ledger
from billing.models import (
    AutoTopUpConfig,
    BalanceSnapshot,
    Invoice,
    InvoicePreview,
    InvoicePreviewLine,
    InvoiceType,
    SpendingLimit,
    SyncOutcome,
    SyncRun,
    UsageRecord,
    UsageWindow,
)


def snapshot(
    account, balance, at: datetime | None = None, *, minutes_ago: float = 1, card: bool = True, **fields
) -> BalanceSnapshot:
    """A successful balance sync: the snapshot and its SyncRun (which dates the data), taken `at` or else
    `minutes_ago` minutes ago, with a Visa card on file unless `card` is false; `fields` set the rest."""
    taken = at or timezone.now() - timedelta(minutes=minutes_ago)
    row = BalanceSnapshot.objects.create(
        account=account,
        taken_at=taken,
        balance=Decimal(balance),
        has_default_payment_method=card,
        payment_method_brand="visa" if card else "",
        payment_method_last4="4242" if card else "",
        **fields,
    )
    SyncRun.objects.create(
        job="balance", account=account, started_at=taken, finished_at=taken, outcome=SyncOutcome.SUCCEEDED
    )
    return row


def utc_midnight(days_ago: int = 0) -> datetime:
    """The start of the UTC day `days_ago` days before today."""
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def day_usage(account, day: datetime, value) -> UsageRecord:
    """The billed usage of the UTC day starting at `day` (today's is partial), replacing any the day had."""
    return UsageRecord.objects.update_or_create(
        account=account,
        window=UsageWindow.DAY,
        start=day,
        defaults={
            "end": day + timedelta(days=1),
            "summary_id": f"d{day:%Y%m%d}",
            "value": Decimal(value),
            "synced_at": timezone.now(),
        },
    )[0]


def failed_sync(account, at: datetime | None = None) -> SyncRun:
    """A balance sync that failed: its run, and no snapshot (a failed fetch is never a zero balance)."""
    at = at or timezone.now()
    return SyncRun.objects.create(
        job="balance", account=account, started_at=at, finished_at=at, outcome=SyncOutcome.FAILED, error="500"
    )


def seed_history(account, *, days: int = 30, balance: str = "120.50", scale: str = "1") -> None:
    """Local history for one account, as the sync jobs would leave it: snapshots, usage, invoices, config."""
    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    BalanceSnapshot.objects.bulk_create(
        BalanceSnapshot(
            account=account,
            taken_at=now - timedelta(hours=6 * step),
            balance=Decimal(balance) + Decimal(step) * Decimal("1.25") * Decimal(scale),
            has_default_payment_method=True,
            payment_method_brand="visa",
            payment_method_last4="4242",
            first_topup_success=True,
        )
        for step in range(days * 4, 0, -1)
    )
    snapshot(account, balance)
    UsageRecord.objects.bulk_create(
        UsageRecord(
            account=account,
            window="day",
            start=today - timedelta(days=day),
            end=today - timedelta(days=day - 1),
            summary_id=f"d{day}",
            value=(Decimal("4.50") + Decimal(day % 7)) * Decimal(scale),
            synced_at=now,
        )
        for day in range(days, -1, -1)
    )
    UsageRecord.objects.bulk_create(
        UsageRecord(
            account=account,
            window="hour",
            start=now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hour),
            end=now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hour - 1),
            summary_id=f"h{hour}",
            value=Decimal("0.25") * Decimal(scale),
            synced_at=now,
        )
        for hour in range(48, -1, -1)
    )
    for number in range(30):
        Invoice.objects.create(
            account=account,
            invoice_id=f"in_{number:03d}",
            invoice_type="auto" if number % 3 == 0 else "manual",
            amount_due=Decimal(50),
            amount_paid=Decimal(50),
            amount_remaining=Decimal(0),
            created=now - timedelta(days=number),
            description=f"Credit purchase {number}",
            invoice_pdf=f"https://pay.example.com/in_{number:03d}.pdf",
            status="paid",
            synced_at=now,
        )
    preview = InvoicePreview.objects.create(
        account=account,
        preview_id="upcoming_1",
        amount_due=Decimal("12.40"),
        amount_paid=Decimal(0),
        amount_remaining=Decimal("12.40"),
        period_start=today.replace(day=1),
        period_end=today.replace(day=1) + timedelta(days=30),
        status="draft",
        synced_at=now,
    )
    InvoicePreviewLine.objects.create(
        preview=preview,
        position=0,
        amount=Decimal("14.40"),
        description="AI Gateway usage",
        quantity=Decimal("1440"),
        unit_amount_decimal="1.0",
        credits=[{"amount": "2.00", "type": "credit_balance_transaction"}],
    )
    AutoTopUpConfig.objects.create(account=account, amount=Decimal(50), threshold=Decimal(20), synced_at=now)
    SpendingLimit.objects.create(
        account=account,
        enabled=True,
        amount=Decimal(500),
        duration="monthly",
        strategy="fixed",
        synced_at=now,
    )


def ledger_history(account) -> None:
    """Two settled days of the ledger (billing/figures/ledger.py), five and four days back: one that balances
    with an auto top-up of $20 (invoice $21 with the 5 % fee), then one where $5 left the balance with no
    usage to show for it."""
    snapshot(account, "100", at=utc_midnight(5))
    snapshot(account, "110", at=utc_midnight(4))
    snapshot(account, "95", at=utc_midnight(3))
    day_usage(account, utc_midnight(5), "10")
    day_usage(account, utc_midnight(4), "10")
    Invoice.objects.create(
        account=account,
        invoice_id="in_auto1",
        invoice_type=InvoiceType.AUTO,
        amount_due=Decimal("21"),
        amount_paid=Decimal("21"),
        amount_remaining=0,
        status="paid",
        created=utc_midnight(5).replace(hour=9),
        synced_at=utc_midnight(5).replace(hour=9),
    )
    ledger.rebuild(account, since=utc_midnight(6).date())
