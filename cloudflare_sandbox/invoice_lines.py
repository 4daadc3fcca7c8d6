"""The lines of an account's usage invoice for one billing period (the invoice preview's `invoice_lines`).

Since 2026-09-01 Cloudflare's usage invoices carry one line per model, described with the same
`provider/model` name as analytics; before that, one line for all AI Gateway usage. A line's amount is
its usage in cents, rounded half up per line (so the invoice is the sum of its lines, as Stripe's are);
its quantity is micro-dollars of usage at a unit price of 0.0001 cents. Prepaid credit pays the lines in
order until what a negative balance leaves uncovered: that part stays due.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .model import ZERO, Account

# The first billing period whose invoice is itemised by model.
ITEMISED_FROM_HOUR = int(datetime(2026, 9, 1, tzinfo=UTC).timestamp()) // 3600
UNIT_PRICE = "0.0001"  # cents per quantity unit: one micro-dollar
UNITEMISED = "AI Gateway usage"


def usage_by_model(account: Account, p0: int, p1: int) -> list[tuple[str, Decimal]]:
    """[("provider/model", dollars)] billed in the epoch hours [p0, p1), every gateway summed, by name."""
    lo, hi = p0 - account.usage_start_hour, p1 - account.usage_start_hour
    totals: dict[str, Decimal] = {}
    for s in account.traffic.slices:
        dollars = s.prefix(hi) - s.prefix(lo)
        if dollars:
            name = f"{s.provider}/{s.model}"
            totals[name] = totals.get(name, ZERO) + dollars
    return sorted(totals.items())


def period_lines(account: Account, p0: int, p1: int, total_dollars: Decimal) -> list[tuple[str, int, int]]:
    """[(description, cents, micro-dollars)] of the period's invoice."""
    parts = []
    if p0 >= ITEMISED_FROM_HOUR:
        parts = [(f"{UNITEMISED}: {name}", dollars) for name, dollars in usage_by_model(account, p0, p1)]
    # Before itemisation, and in a period with no usage yet, one line (at $0.00 then), as a metered price has.
    parts = parts or [(UNITEMISED, total_dollars)]
    return [
        (
            description,
            int((dollars * 100).quantize(Decimal(1), ROUND_HALF_UP)),
            int((dollars * 1_000_000).quantize(Decimal(1), ROUND_HALF_UP)),
        )
        for description, dollars in parts
    ]


def invoice_lines(account: Account, p0: int, p1: int, total_dollars: Decimal) -> list[dict[str, Any]]:
    """The period's `invoice_lines` as the API sends them, with the credit applied to each."""
    uncovered = int(max(ZERO, -account.balance).quantize(Decimal(1)))
    period = {"start": p0 * 3600, "end": p1 * 3600}
    out = []
    for n, (description, cents, micros) in enumerate(period_lines(account, p0, p1, total_dollars)):
        left_due = min(cents, uncovered)
        uncovered -= left_due
        out.append(
            {
                "amount": cents,
                "currency": "usd",
                "description": description,
                "period": period,
                "pricing": {"unit_amount_decimal": UNIT_PRICE},
                "quantity": micros,
                "pretax_credit_amounts": [
                    {
                        "amount": cents - left_due,
                        "type": "credit_balance_transaction",
                        "credit_balance_transaction": f"cbtxn_{account.id[:12]}{p0}_{n}",
                        "discount": None,
                    }
                ],
            }
        )
    return out
