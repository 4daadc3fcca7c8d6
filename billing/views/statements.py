"""The showback statement of a billing period: billed usage by cost center; page, CSV and print view."""

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from billing.figures.reconciliation import UNITEMISED
from billing.figures.statement import Statement, statement_for
from billing.permissions import get_account_for
from billing.views.common import account_context
from billing.views.csv_stream import csv_response
from billing.views.period import chosen_period
from billing.views.reconciliation import NOT_ITEMISED

CSV_HEADER = ("period_start_utc", "period_end_utc", "row", "row_kind", "model", "amount_usd")


def statement(request: HttpRequest, account_id: str) -> HttpResponseBase:
    account = get_account_for(request.user, account_id)
    period, periods = chosen_period(request, account)
    found = statement_for(account, period.start, timezone.now()) if period else None
    if found and period and request.GET.get("format") == "csv":
        filename = f"statement-{account.cloudflare_id[:8]}-{period.slug}.csv"
        return csv_response(filename, CSV_HEADER, _csv_rows(found))
    template = (
        "billing/statement_print.html" if request.GET.get("view") == "print" else "billing/statement.html"
    )
    context = account_context(
        account,
        "statement",
        period=period,
        periods=periods,
        statement=found,
        not_itemised=NOT_ITEMISED,
    )
    return render(request, template, context)


def _csv_rows(found: Statement) -> Iterator[tuple]:
    """One line per row and model; the amounts of every line sum to the billed usage."""
    usage = found.usage
    for row in found.rows:
        kind = "named" if row.named else "cost_center"
        for model, amount in sorted(row.by_model.items()):
            yield (
                usage.period_start.isoformat(),
                usage.period_end.isoformat(),
                row.name,
                kind,
                NOT_ITEMISED if model == UNITEMISED else model,
                amount,
            )
