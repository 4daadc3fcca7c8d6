"""What a credit-purchase invoice is made of: the credit bought and Cloudflare's purchase fee.

Cloudflare's invoice history gives an invoice's total only, no lines. A top-up made in the portal knows its
credit and fee (`TopUp.amount_cents`, `fee_cents`, keyed by the invoice id Cloudflare returns as
`payment_intent_id`), so its invoice is shown as those two lines; an invoice the portal did not start
(an auto top-up, a purchase in the dashboard) is shown as its total, its fee not itemised."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing.models import Invoice, InvoiceLine, InvoicePreviewLine, TopUp
from billing.money import cents_to_dollars


@dataclass(frozen=True)
class Purchase:
    credit: Decimal  # dollars of credit bought
    fee: Decimal  # Cloudflare's purchase fee, dollars


def purchases_of(invoices: Iterable[Invoice]) -> dict[tuple[int, str], Purchase]:
    """{(account pk, invoice id): Purchase} for the invoices of top-ups made in the portal, in one query."""
    wanted = {(invoice.account_id, invoice.invoice_id) for invoice in invoices}
    if not wanted:
        return {}
    rows = TopUp.objects.filter(
        account_id__in={account for account, _ in wanted},
        payment_intent_id__in={invoice_id for _, invoice_id in wanted},
    ).values_list("account_id", "payment_intent_id", "amount_cents", "fee_cents")
    return {
        (account, ref): Purchase(cents_to_dollars(amount), cents_to_dollars(fee))
        for account, ref, amount, fee in rows
        if (account, ref) in wanted
    }


@dataclass(frozen=True)
class PeriodTotals:
    """A usage invoice's totals from its lines: usage billed, the credit that paid it, what is left due."""

    amount: Decimal
    credited: Decimal

    @property
    def due(self) -> Decimal:
        return self.amount - self.credited


def period_totals(lines: Iterable[InvoiceLine | InvoicePreviewLine]) -> PeriodTotals:
    """What lines add up to: a billing period's stored lines, or the invoice preview's as read."""
    amount = credited = Decimal(0)
    for line in lines:
        amount += line.amount
        credited += line.credited
    return PeriodTotals(amount, credited)
