"""/accounts/{id}/usage: billed usage per UTC day or per hour, the usage page's table and CSV rows (one
reading of the range: the page's form, the same shortening with the same notices)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema

from billing.api.auth import account_of
from billing.api.errors import BadInput, form_problems
from billing.api.schemas import Money, money, utc
from billing.figures.series import range_bounds, usage_rows
from billing.forms.filters import UsageFilterForm
from billing.models import UsageWindow

router = Router(tags=["usage"])


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
    description="Query: window (day, hour), start and end (YYYY-MM-DD, included), as the usage page takes.",
)
def usage(request: HttpRequest, account_id: str) -> Usage:
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
