"""The page benchmark's small tables: invoices of the top-ups the balance history made, the top-ups
themselves, auto top-up configs, spending limits, upcoming-invoice previews, alert events, and the people
who log in. Written with bulk_create: a few thousand rows at most."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bench.seed_bulk import micro_text
from bench.seed_history import TopUpHistory

# bench-ten is admin of this many accounts: the "10 accounts" of the query-count comparison.
TEN = 10
PREVIEW_LINES = ["AI Gateway usage", "Unified billing credits", "Tax"]


def _dollars(micro: int) -> Decimal:
    return Decimal(micro_text(micro))


def seed_small_tables(
    ids: list[int], profiles: list[dict], now: datetime, history: TopUpHistory
) -> dict[str, int]:
    """Writes every small table but the people; returns their row counts."""
    from billing import models as m

    invoices = [_auto_topup_invoice(pk, at, amount, now) for pk, at, amount in history.auto_charges]
    invoices += [_manual_topup_invoice(topup, now) for topup in history.topups]
    m.Invoice.objects.bulk_create(invoices, batch_size=2000)
    m.TopUp.objects.bulk_create(history.topups, batch_size=2000)
    accounts = list(zip(ids, profiles, strict=True))
    configs = [_auto_topup_config(pk, p, now) for pk, p in accounts if p["auto"]]
    limits = [_spending_limit(pk, p, now) for pk, p in accounts]
    previews = [_invoice_preview(pk, p, now) for pk, p in accounts]
    rules = dict(m.AlertRule.objects.filter(account=None).values_list("kind", "pk"))
    events = [event for pk, _ in accounts for event in _alert_events(pk, history.final_balance, now, rules)]
    m.AutoTopUpConfig.objects.bulk_create(configs)
    m.SpendingLimit.objects.bulk_create(limits)
    _create_previews_with_lines(previews)
    m.AlertEvent.objects.bulk_create(events)
    return {
        "invoices": len(invoices),
        "topups": len(history.topups),
        "auto_topup_configs": len(configs),
        "spending_limits": len(limits),
        "alert_events": len(events),
    }


def _auto_topup_invoice(pk: int, at: datetime, amount: int, now: datetime):
    from billing import models as m

    return m.Invoice(
        account_id=pk,
        invoice_id=f"in_auto_{pk}_{int(at.timestamp())}",
        invoice_type=m.InvoiceType.AUTO,
        amount_due=_dollars(amount),
        amount_paid=_dollars(amount),
        amount_remaining=Decimal(0),
        created=at,
        description="Auto top-up",
        status="paid",
        created_by="auto_topup",
        synced_at=now,
    )


def _manual_topup_invoice(topup, now: datetime):
    from billing import models as m

    amount = Decimal(topup.amount_cents) / 100
    return m.Invoice(
        account_id=topup.account_id,
        invoice_id=f"in_{topup.payment_intent_id}",
        invoice_type=m.InvoiceType.MANUAL,
        amount_due=amount,
        amount_paid=amount,
        amount_remaining=Decimal(0),
        created=topup.completed_at,
        description="Credit top-up",
        status="paid",
        created_by="dashboard",
        synced_at=now,
    )


def _auto_topup_config(pk: int, p: dict, now: datetime):
    from billing import models as m

    return m.AutoTopUpConfig(
        account_id=pk, amount=_dollars(p["auto"][0]), threshold=_dollars(p["auto"][1]), synced_at=now
    )


def _spending_limit(pk: int, p: dict, now: datetime):
    from billing import models as m

    if not p["limit"]:
        return m.SpendingLimit(account_id=pk, enabled=False, synced_at=now)
    duration, strategy, amount = p["limit"]
    return m.SpendingLimit(
        account_id=pk,
        enabled=True,
        amount=_dollars(amount),
        duration=duration,
        strategy=strategy,
        synced_at=now - timedelta(minutes=pk % 55),
    )


def _invoice_preview(pk: int, p: dict, now: datetime):
    from billing import models as m

    due = _dollars(p["rate"] * 24 * 20)
    return m.InvoicePreview(
        account_id=pk,
        preview_id=f"upcoming_{pk}",
        amount_due=due,
        amount_paid=Decimal(0),
        amount_remaining=due,
        status="draft",
        period_start=now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        period_end=now + timedelta(days=10),
        synced_at=now,
    )


def _create_previews_with_lines(previews: list) -> None:
    from billing import models as m

    created = m.InvoicePreview.objects.bulk_create(previews)
    # Backends that do not return the new keys from a bulk insert: read the previews back for their lines.
    if not all(p.pk for p in created):
        created = list(m.InvoicePreview.objects.order_by("pk"))
    lines = [
        m.InvoicePreviewLine(
            preview=preview,
            position=position,
            amount=preview.amount_due / 3,
            description=text,
            quantity=Decimal(1),
        )
        for preview in created
        for position, text in enumerate(PREVIEW_LINES)
    ]
    m.InvoicePreviewLine.objects.bulk_create(lines)


def _alert_events(pk: int, final_balance: dict[int, int], now: datetime, rules: dict[str, int]) -> list:
    """An open low-balance alert where the history ended below $10 (at the second of its default levels),
    and two resolved usage spikes; each names the portal-wide rule that raised it, as evaluated ones do."""
    from billing import models as m

    events = []
    if final_balance.get(pk, 0) < 10_000_000:
        events.append(
            m.AlertEvent(
                account_id=pk,
                kind="low_balance",
                rule_id=rules.get("low_balance"),
                level=2,
                headline=f"Low balance on account {pk}",
                opened_at=now - timedelta(hours=2),
            )
        )
    for back in (40, 20):
        opened = now - timedelta(days=back, hours=pk % 24)
        events.append(
            m.AlertEvent(
                account_id=pk,
                kind="usage_spike",
                rule_id=rules.get("usage_spike"),
                headline=f"Usage spike on {pk}",
                opened_at=opened,
                resolved_at=opened + timedelta(hours=5),
            )
        )
    return events


def seed_people(ids: list[int]) -> int:
    """bench-super (superuser), bench-ten (admin of the first 10 accounts) and bench-all (admin of every
    account, granted one by one); returns how many people."""
    from django.contrib.auth import get_user_model

    from billing import models as m

    user_model = get_user_model()
    # No passwords: the benchmark logs people in with force_login, and hashing would cost seconds.
    user_model.objects.create_superuser("bench-super", "super@bench.invalid", None)
    ten = user_model.objects.create_user("bench-ten", "ten@bench.invalid", None)
    everyone = user_model.objects.create_user("bench-all", "all@bench.invalid", None)
    grants = [m.AccountAccess(user=ten, account_id=pk, role=m.Role.ADMIN) for pk in ids[:TEN]]
    grants += [m.AccountAccess(user=everyone, account_id=pk, role=m.Role.ADMIN) for pk in ids]
    m.AccountAccess.objects.bulk_create(grants)
    return 3
