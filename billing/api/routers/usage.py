"""/accounts/{id}/usage: billed usage per UTC day or per hour, the usage page's table and CSV rows (one
reading of the range: the page's form, the same shortening with the same notices)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from billing.api.auth import account_of
from billing.api.errors import BadInput, form_problems
from billing.api.schemas import Money, money, utc
from billing.figures.series import range_bounds, usage_rows
from billing.forms.filters import UsageFilterForm
from billing.models import UsageWindow

router = Router(tags=["usage"])


class UsageQuery(Schema):
    """The usage page's range, validated by its form (so each problem reads as on the page)."""

    window: str | None = Field(None, description="day (UTC days, the default) or hour")
    start: str | None = Field(None, description="the first day, YYYY-MM-DD (default: 30 days or 2 days back)")
    end: str | None = Field(None, description="the last day, included, YYYY-MM-DD (default: today)")


class UsageRow(Schema):
    start: datetime  # the bucket's start: a UTC midnight for days, an hour for hours
    amount: Money
    partial: bool  # the bucket is still running


class Usage(Schema):
    window: str  # "day" or "hour"
    first: date
    last: date
    notices: list[str]  # how the range asked for was shortened, if it was
    total: Money
    rows: list[UsageRow]  # oldest first


@router.get(
    "/accounts/{account_id}/usage",
    response=Usage,
    summary="Usage per day or hour",
    description="A range longer than 366 days keeps its last days, and a future end becomes today; "
    "`notices` then says so.",
)
def usage(request: HttpRequest, account_id: str, query: Query[UsageQuery]) -> Usage:
    account = account_of(request, account_id)
    form = UsageFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        raise BadInput(form_problems(form))
    shown = form.resolve()
    start, end = range_bounds(shown.window, shown.first, shown.last)
    found = list(usage_rows(account, shown.window, start, end))
    rows = [
        UsageRow(start=utc(row["start"]), amount=money(row["total"]), partial=bool(row["partial"]))
        for row in found
    ]
    total = sum((row["total"] for row in found), start=Decimal(0))
    return Usage(
        window=UsageWindow(shown.window).value,
        first=shown.first,
        last=shown.last,
        notices=list(shown.notices),
        total=money(total),
        rows=rows,
    )
