"""Fixtures for the pages, forms and operations tests: the portal pointed at the sandbox, and local data.

Loaded for every test module through `pytest_plugins` in conftest.py; helpers (`snapshot`, `seed_history`,
`api_requests`) are imported where used.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import clients
from billing.models import BalanceSnapshot, SyncOutcome, SyncRun
from tests.sandbox_fixtures import sandbox, sandbox_server  # noqa: F401

CARD = {"brand": "visa", "last4": "4242"}


@pytest.fixture
def cf(sandbox, settings, account):  # noqa: F811
    """The portal talks to the sandbox; the `account` fixture exists there with $50.00 and a Visa card."""
    settings.CLOUDFLARE_API_BASE_URL = sandbox.base_url
    settings.CLOUDFLARE_API_TOKEN = sandbox.token
    settings.CLOUDFLARE_MAX_RETRIES = 0
    clients.reset_clients()
    sandbox.put_account(
        account.cloudflare_id, name=account.name, balance=5000, payment_method=CARD, first_topup_success=True
    )
    sandbox.clear_requests()
    yield sandbox
    clients.reset_clients()


def api_requests(sandbox, method: str | None = None, contains: str = "") -> list[dict]:  # noqa: F811
    """The billing API requests the sandbox received (control calls are not logged)."""
    return [
        r for r in sandbox.requests() if (method is None or r["method"] == method) and contains in r["path"]
    ]


def snapshot(account, balance: str, *, minutes_ago: int = 1, card: bool = True, **extra) -> BalanceSnapshot:
    """A balance snapshot and a successful sync run, so pages have fresh local data."""
    taken = timezone.now() - timedelta(minutes=minutes_ago)
    row = BalanceSnapshot.objects.create(
        account=account,
        taken_at=taken,
        balance=Decimal(balance),
        has_default_payment_method=card,
        payment_method_brand="visa" if card else "",
        payment_method_last4="4242" if card else "",
        **extra,
    )
    SyncRun.objects.create(
        job="balance", account=account, started_at=taken, finished_at=taken, outcome=SyncOutcome.SUCCEEDED
    )
    return row


def seed_history(account, *, days: int = 30, balance: str = "120.50", scale: str = "1") -> None:
    """Local history for one account, as the sync jobs would leave it: snapshots, usage, invoices, config."""
    from billing.models import (
        AutoTopUpConfig,
        Invoice,
        InvoicePreview,
        InvoicePreviewLine,
        SpendingLimit,
        UsageRecord,
    )

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
