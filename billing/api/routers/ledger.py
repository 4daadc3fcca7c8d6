"""/accounts/{id}/ledger: the ledger page's figures, from the stored rows `billing.figures.ledger` builds: the
days of one UTC month (`?month=YYYY-MM`, this month by default) and the last 13 months' rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from billing.api.auth import account_of
from billing.api.errors import BadInput
from billing.api.schemas import Money, money, utc
from billing.figures import ledger
from billing.models import LedgerDay
from billing.views.ledger import chosen_month

router = Router(tags=["ledger"])


class LedgerQuery(Schema):
    month: str | None = Field(None, description="YYYY-MM, a UTC month; default: this month")


class Source(Schema):
    kind: str  # topup, auto_topup, elsewhere (credit from elsewhere), in_flight (not counted)
    ref: str  # the invoice id, when there is one
    amount: Money


class LedgerDayOut(Schema):
    day: date  # a UTC day
    opening: Money | None  # null without a balance reading near its start
    opening_at: datetime | None
    topups: Money
    auto_topups: Money
    other_credit: Money  # the balance rose with no top-up the portal knows of
    usage: Money  # billed usage
    expected: Money | None  # opening + credit − usage
    observed: Money | None  # the closing balance read
    observed_at: datetime | None
    difference: Money | None  # observed − expected
    state: str  # balanced, explained, unexplained, open, no_data
    reason: str
    sources: list[Source]
    settled: bool


class LedgerMonthOut(Schema):
    month: str  # YYYY-MM
    opening: Money | None
    topups: Money
    auto_topups: Money
    other_credit: Money
    usage: Money
    expected: Money | None
    observed: Money | None
    difference: Money
    state: str
    unexplained_days: int


class LedgerOut(Schema):
    month: LedgerMonthOut  # the month asked for, summed
    days: list[LedgerDayOut]  # its days, oldest first
    months: list[LedgerMonthOut]  # the last 13 months, newest first


def _day(row: LedgerDay) -> LedgerDayOut:
    return LedgerDayOut(
        day=row.day,
        opening=money(row.opening),
        opening_at=utc(row.opening_at),
        topups=money(row.topups),
        auto_topups=money(row.auto_topups),
        other_credit=money(row.other_credit),
        usage=money(row.usage),
        expected=money(row.expected),
        observed=money(row.observed),
        observed_at=utc(row.observed_at),
        difference=money(row.difference),
        state=row.state,
        reason=row.reason,
        sources=[
            Source(kind=s["kind"], ref=s["ref"], amount=money(Decimal(s["amount"]))) for s in row.sources
        ],
        settled=row.settled,
    )


def _month(found: ledger.Month) -> LedgerMonthOut:
    return LedgerMonthOut(
        month=f"{found.first:%Y-%m}",
        opening=money(found.opening),
        topups=money(found.topups),
        auto_topups=money(found.auto_topups),
        other_credit=money(found.other_credit),
        usage=money(found.usage),
        expected=money(found.expected),
        observed=money(found.observed),
        difference=money(found.difference),
        state=str(found.state),
        unexplained_days=found.unexplained,
    )


@router.get(
    "/accounts/{account_id}/ledger",
    response=LedgerOut,
    summary="The ledger: a month's days and the last 13 months",
    description="Whether the balance moved as credit and billed usage explain, day by day (UTC).",
)
def ledger_of(request: HttpRequest, account_id: str, query: Query[LedgerQuery]) -> LedgerOut:
    account = account_of(request, account_id)
    today = timezone.now().astimezone(UTC).date()
    month, problem = chosen_month(request, today)
    if problem:
        raise BadInput({"month": [problem]})
    found = ledger.days_of(account, month)
    return LedgerOut(
        month=_month(found),
        days=[_day(row) for row in found.days],
        months=[_month(summary) for summary in ledger.months_of(account, today)],
    )
