"""The invoice preview's lines kept under their billing period (`InvoiceLine`), read as billed usage per
model: a line described "… provider/model" (Cloudflare's usage invoices since 2026-09-01, named as
analytics names them) is that model's; any other line is usage not itemised by model."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from billing.cloudflare import InvoiceLine as InvoiceLineResult
from billing.cloudflare import InvoicePreview as RemoteInvoicePreview
from billing.models import Account, InvoiceLine
from billing.money import minor_units_to_major, timestamp_to_datetime, to_decimal
from billing.sync.runs import text

# The last word of a description, when it reads `provider/model` (a model may hold slashes itself:
# `workers-ai/@cf/meta/llama-3.1-8b-instruct`).
MODEL_NAME = re.compile(r"(?:^|[\s:])(?P<provider>[\w.-]+)/(?P<model>\S+)$")


def model_of(description: str) -> tuple[str, str]:
    """(provider, model) named at the end of a line's description, or ("", "") when it names none."""
    match = MODEL_NAME.search(description.strip())
    return (match["provider"], match["model"]) if match else ("", "")


def line_credits(line: InvoiceLineResult, currency: str) -> list[dict]:
    """A line's pretax credits as stored: amounts in major units, as strings."""
    return [
        {
            "amount": str(minor_units_to_major(credit.amount, currency)),
            "type": credit.type,
            "credit_balance_transaction": credit.credit_balance_transaction,
            "discount": credit.discount,
        }
        for credit in line.pretax_credit_amounts or ()
    ]


def store_period_lines(account: Account, preview: RemoteInvoicePreview, synced_at: datetime) -> int:
    """Replaces the lines kept for the preview's billing period with the preview's; other periods keep
    theirs. Returns how many lines were stored."""
    period_start = timestamp_to_datetime(preview.period_start)
    period_end = timestamp_to_datetime(preview.period_end)
    if period_start is None or period_end is None:
        return 0
    currency = (preview.currency or "usd").lower()[:8]
    InvoiceLine.objects.filter(account=account, period_start=period_start).delete()
    rows = []
    for position, line in enumerate(preview.invoice_lines):
        line_currency = (line.currency or currency).lower()[:8]
        credits = line_credits(line, line_currency)
        description = text(line.description, 10_000)
        provider, model = model_of(description)
        rows.append(
            InvoiceLine(
                account=account,
                invoice_ref=text(preview.id, 128),
                period_start=period_start,
                period_end=period_end,
                position=position,
                description=description,
                provider=provider[:200],
                model=model[:200],
                amount=minor_units_to_major(line.amount, line_currency),
                credited=sum((Decimal(c["amount"]) for c in credits), Decimal(0)),
                currency=line_currency,
                quantity=to_decimal(line.quantity),
                unit_amount_decimal=text(line.pricing.unit_amount_decimal, 64),
                line_start=timestamp_to_datetime(line.period.start),
                line_end=timestamp_to_datetime(line.period.end),
                credits=credits,
                synced_at=synced_at,
            )
        )
    InvoiceLine.objects.bulk_create(rows)
    return len(rows)
