"""Billed usage per model against the analytics estimate, per billing period: page and CSV."""

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from billing.figures import reconciliation as figure
from billing.money import round_cents
from billing.permissions import get_account_for
from billing.views.common import account_context
from billing.views.csv_stream import csv_response
from billing.views.period import chosen_period

CSV_HEADER = (
    "period_start_utc",
    "period_end_utc",
    "lines_read_at_utc",
    "model",
    "billed_usd",
    "analytics_estimate_usd",
    "difference_usd",
    "difference_percent",
    "flagged",
    "analytics_from_utc",
)
NOT_ITEMISED = "not itemised by model"


def reconciliation(request: HttpRequest, account_id: str) -> HttpResponseBase:
    account = get_account_for(request.user, account_id)
    period, periods = chosen_period(request, account)
    found = figure.reconciliation_for(account, period.start, timezone.now()) if period else None
    if found and request.GET.get("format") == "csv":
        filename = f"reconciliation-{account.cloudflare_id[:8]}-{period.slug if period else ''}.csv"
        return csv_response(filename, CSV_HEADER, _csv_rows(found))
    context = account_context(
        account,
        "invoices",
        period=period,
        periods=periods,
        reconciliation=found,
        tolerance_percent=figure.TOLERANCE_PERCENT,
        tolerance_dollars=figure.TOLERANCE_DOLLARS,
        not_itemised=NOT_ITEMISED,
    )
    return render(request, "billing/reconciliation.html", context)


def _csv_rows(found: figure.Reconciliation) -> Iterator[tuple]:
    usage = found.usage
    for row in found.rows:
        yield (
            usage.period_start.isoformat(),
            usage.period_end.isoformat(),
            usage.lines_read_at.isoformat(),
            row.model or NOT_ITEMISED,
            round_cents(row.billed),
            round_cents(row.estimate),
            round_cents(row.difference),
            "" if row.percent is None else row.percent,
            "yes" if row.flagged else "no",
            usage.spend.data_from.isoformat(),
        )
