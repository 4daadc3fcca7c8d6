"""A billing period's usage as the period pages read it: the usage invoice with its lines, billed usage per
model against the analytics estimate (`/reconciliation`), and the showback statement by cost center
(`/statement`). `?period=YYYY-MM-DD` (the UTC day it starts) picks the period, as on the pages; without it,
the newest one the portal keeps invoice lines of."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from billing.api.auth import account_of
from billing.api.schemas import Money, money, number, utc
from billing.figures import reconciliation as reconciled
from billing.figures.invoices import period_totals
from billing.figures.reconciliation import UNITEMISED
from billing.figures.statement import statement_for
from billing.models import InvoiceLine
from billing.models.invoice_lines import BillingPeriod
from billing.views.period import chosen_period, period_from_slug

router = Router(tags=["billing periods"])


class PeriodQuery(Schema):
    period: str | None = Field(None, description="the UTC day the period starts, YYYY-MM-DD; default: newest")


class PeriodOut(Schema):
    slug: str  # YYYY-MM-DD, what `?period=` takes
    start: datetime
    end: datetime


def _period(found: BillingPeriod) -> PeriodOut:
    return PeriodOut(slug=found.slug, start=utc(found.start), end=utc(found.end))


def _model(key: str) -> str | None:
    """`provider/model`, or None for usage not itemised by model (invoices before 2026-09-01)."""
    return None if key == UNITEMISED else key


class UsageLine(Schema):
    position: int
    description: str
    model: str | None  # `provider/model`; null for a line not itemised by model
    amount: Money
    credited: Money  # the credit applied to it
    quantity: str
    unit_amount: str
    start: datetime | None
    end: datetime | None


class UsageInvoice(Schema):
    period: PeriodOut
    lines_read_at: datetime  # the last lines read before the period ended stay as its invoice
    amount: Money
    credited: Money
    due: Money
    lines: list[UsageLine]


@router.get(
    "/accounts/{account_id}/invoices/usage/{period}",
    response=UsageInvoice,
    summary="A billing period's usage invoice with its lines",
)
def usage_invoice(request: HttpRequest, account_id: str, period: str) -> UsageInvoice:
    account = account_of(request, account_id)
    chosen = period_from_slug(account, period)
    lines = list(InvoiceLine.objects.of_period(account, chosen.start))
    totals = period_totals(lines)
    currency = lines[0].currency
    return UsageInvoice(
        period=_period(chosen),
        lines_read_at=utc(max(line.synced_at for line in lines)),
        amount=money(totals.amount, currency),
        credited=money(totals.credited, currency),
        due=money(totals.due, currency),
        lines=[
            UsageLine(
                position=line.position,
                description=line.description,
                model=line.model_name or None,
                amount=money(line.amount, line.currency),
                credited=money(line.credited, line.currency),
                quantity=f"{line.quantity.normalize():f}",
                unit_amount=line.unit_amount_decimal,
                start=utc(line.line_start),
                end=utc(line.line_end),
            )
            for line in lines
        ],
    )


class ModelRowOut(Schema):
    model: str | None  # `provider/model`; null for usage not itemised by model
    billed: Money
    estimate: Money  # Cloudflare's analytics estimate over the same span
    difference: Money  # billed less estimate
    difference_percent: str | None  # of the estimate; null when nothing was estimated
    flagged: bool  # beyond both tolerances


class ReconciliationOut(Schema):
    periods: list[PeriodOut]  # every period with invoice lines, newest first
    period: PeriodOut | None  # null when no invoice lines are synced yet
    lines_read_at: datetime | None = None
    analytics_from: datetime | None = None  # where the analytics of the span really start
    tolerance_percent: str
    tolerance_dollars: Money
    billed: Money | None = None
    estimate: Money | None = None
    rows: list[ModelRowOut] = []  # the largest billed first


def _row(row: reconciled.ModelRow) -> ModelRowOut:
    return ModelRowOut(
        model=_model(row.model),
        billed=money(row.billed),
        estimate=money(row.estimate),
        difference=money(row.difference),
        difference_percent=number(row.percent),
        flagged=row.flagged,
    )


@router.get(
    "/accounts/{account_id}/reconciliation",
    response=ReconciliationOut,
    summary="Billed usage per model against the analytics estimate",
)
def reconciliation(request: HttpRequest, account_id: str, query: Query[PeriodQuery]) -> ReconciliationOut:
    account = account_of(request, account_id)
    chosen, periods = chosen_period(request, account)
    found = reconciled.reconciliation_for(account, chosen.start, timezone.now()) if chosen else None
    out = ReconciliationOut(
        periods=[_period(p) for p in periods],
        period=_period(chosen) if chosen else None,
        tolerance_percent=str(reconciled.TOLERANCE_PERCENT),
        tolerance_dollars=money(reconciled.TOLERANCE_DOLLARS),
    )
    if found is None:
        return out
    return out.model_copy(
        update={
            "lines_read_at": utc(found.usage.lines_read_at),
            "analytics_from": utc(found.usage.spend.data_from),
            "billed": money(found.billed),
            "estimate": money(found.estimate),
            "rows": [_row(row) for row in found.rows],
        }
    )


class ModelAmount(Schema):
    model: str | None  # `provider/model`; null for usage not itemised by model
    amount: Money


class StatementRowOut(Schema):
    name: str
    kind: str  # cost_center, or named: "Not attributed to any cost center", "Billed with no analytics"
    amount: Money
    by_model: list[ModelAmount]


class StatementOut(Schema):
    periods: list[PeriodOut]
    period: PeriodOut | None  # null when no invoice lines are synced yet
    total: Money | None = None  # equals billed usage to the cent
    rows: list[StatementRowOut] = []  # cost centers by name, then the two named rows


@router.get(
    "/accounts/{account_id}/statement",
    response=StatementOut,
    summary="The showback statement: billed usage by cost center",
)
def statement(request: HttpRequest, account_id: str, query: Query[PeriodQuery]) -> StatementOut:
    account = account_of(request, account_id)
    chosen, periods = chosen_period(request, account)
    found = statement_for(account, chosen.start, timezone.now()) if chosen else None
    out = StatementOut(periods=[_period(p) for p in periods], period=_period(chosen) if chosen else None)
    if found is None:
        return out
    rows = [
        StatementRowOut(
            name=row.name,
            kind="named" if row.named else "cost_center",
            amount=money(row.amount),
            by_model=[
                ModelAmount(model=_model(key), amount=money(value))
                for key, value in sorted(row.by_model.items())
            ],
        )
        for row in found.rows
    ]
    return out.model_copy(update={"total": money(found.total), "rows": rows})
