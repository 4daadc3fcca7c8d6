"""Evidence that a top-up without an id (its answer was lost before Cloudflare returned one) was made: a new
invoice of its amount, or the balance rising by it, within TOPUP_EVIDENCE_WINDOW of the request.

Read from the local tables, which the status job fetches again before asking (balance and invoices). An
invoice or a rise is evidence for one top-up only: invoices another top-up holds (as its id or its evidence)
are skipped, and the rise must cover the other top-ups completed since the balance before.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum

from billing.models import BalanceSnapshot, Invoice, InvoiceType, TopUp, TopUpStatus
from billing.money import cents_to_dollars, format_money

TOPUP_EVIDENCE_WINDOW = timedelta(hours=24)
# Cloudflare's clock and the portal's may differ a little: an invoice dated just before the request counts.
CLOCK_SLACK = timedelta(minutes=5)


def evidence_for(topup: TopUp) -> str:
    """A sentence naming what shows that Cloudflare made this top-up, or "" when nothing does (yet)."""
    return _invoice_evidence(topup) or _balance_evidence(topup)


def _invoice_evidence(topup: TopUp) -> str:
    amounts = {cents_to_dollars(topup.amount_cents), cents_to_dollars(topup.amount_cents + topup.fee_cents)}
    others = TopUp.objects.filter(account=topup.account).exclude(pk=topup.pk)
    held = set(others.exclude(payment_intent_id="").values_list("payment_intent_id", flat=True))
    held_as_evidence = list(others.exclude(evidence="").values_list("evidence", flat=True))
    candidates = (
        Invoice.objects.filter(
            account=topup.account,
            amount_due__in=amounts,
            created__gte=topup.requested_at - CLOCK_SLACK,
            created__lte=topup.requested_at + TOPUP_EVIDENCE_WINDOW,
        )
        .exclude(invoice_type=InvoiceType.AUTO)
        .order_by("created", "pk")
    )
    for invoice in candidates:
        if invoice.invoice_id in held or any(invoice.invoice_id in text for text in held_as_evidence):
            continue
        if invoice.created is None:  # the filter above keeps none; the check is for the type checker
            continue
        return (
            f"invoice {invoice.invoice_id} of {format_money(invoice.amount_due)}, created "
            f"{invoice.created:%Y-%m-%d %H:%M} UTC"
        )
    return ""


def _balance_evidence(topup: TopUp) -> str:
    before = (
        BalanceSnapshot.objects.filter(account=topup.account, taken_at__lte=topup.requested_at)
        .order_by("-taken_at")
        .first()
    )
    if before is None:
        return ""
    end = topup.requested_at + TOPUP_EVIDENCE_WINDOW
    completed_since = (
        (
            TopUp.objects.filter(account=topup.account, status=TopUpStatus.COMPLETED)
            .filter(requested_at__gt=before.taken_at, requested_at__lte=end)
            .exclude(pk=topup.pk)
            .aggregate(cents=Sum("amount_cents"))["cents"]
        )
        or 0
    )
    needed = before.balance + cents_to_dollars(topup.amount_cents + completed_since)
    after = (
        BalanceSnapshot.objects.filter(account=topup.account, taken_at__gt=topup.requested_at)
        .filter(taken_at__lte=end, balance__gte=needed)
        .order_by("taken_at")
        .first()
    )
    if after is None:
        return ""
    rise: Decimal = after.balance - before.balance
    return (
        f"the balance rose by {format_money(rise)}, from {format_money(before.balance)} at "
        f"{before.taken_at:%H:%M} to {format_money(after.balance)} at {after.taken_at:%Y-%m-%d %H:%M} UTC"
    )
