"""The ledger of one account: the days of a month and the last 13 months (page), the same as CSV, and a
month view to print. Every figure comes from the stored rows of `billing.figures.ledger`."""

from collections.abc import Iterator
from datetime import UTC, date

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from billing.figures import ledger
from billing.forms.periods import chosen_month
from billing.models import Account, LedgerDay, SyncJob, SyncRun
from billing.permissions import get_account_for
from billing.views.common import account_context
from billing.views.csv_stream import csv_response

CSV_COLUMNS = (
    "row",
    "day_or_month_utc",
    "opening_usd",
    "topups_usd",
    "auto_topups_usd",
    "credit_from_elsewhere_usd",
    "billed_usage_usd",
    "expected_closing_usd",
    "observed_closing_usd",
    "difference_usd",
    "state",
    "reason",
    "sources",
)


def ledger_page(request: HttpRequest, account_id: str) -> HttpResponseBase:
    account = get_account_for(request.user, account_id)
    today = timezone.now().astimezone(UTC).date()
    month, problem = chosen_month(request, today)
    if request.GET.get("format") == "csv":
        return _csv(account, month, today)
    context = account_context(
        account,
        "ledger",
        month=ledger.days_of(account, month),
        months=ledger.months_of(account, today),
        problem=problem,
        month_query=f"{month:%Y-%m}",
        settle_hours=settings.LEDGER_SETTLE_HOURS,
        table_as_of=SyncRun.objects.last_success_at(account, SyncJob.BALANCE),
    )
    return render(request, "billing/ledger.html", context)


def ledger_print(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    today = timezone.now().astimezone(UTC).date()
    month, problem = chosen_month(request, today)
    context = {
        "account": account,
        "month": ledger.days_of(account, month),
        "problem": problem,
        "now": timezone.now(),
        "settle_hours": settings.LEDGER_SETTLE_HOURS,
    }
    return render(request, "billing/ledger_print.html", context)


def amount(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _sources(row: LedgerDay) -> str:
    return "; ".join(f"{s['kind']} {s['ref']} {s['amount']}".replace("  ", " ") for s in row.sources)


def _csv_rows(account: Account, month: date, today: date) -> Iterator[list[str]]:
    for row in ledger.days_of(account, month).days:
        yield [
            "day",
            f"{row.day:%Y-%m-%d}",
            *(amount(getattr(row, name)) for name in ledger.AMOUNTS),
            row.state,
            row.reason,
            _sources(row),
        ]
    for summary in ledger.months_of(account, today):
        amounts = (amount(getattr(summary, name)) for name in ledger.AMOUNTS)
        yield ["month", f"{summary.first:%Y-%m}", *amounts, summary.state, _month_reason(summary), ""]


def _month_reason(summary: ledger.Month) -> str:
    days = summary.unexplained
    parts = [f"{days} day{'s' if days != 1 else ''} not balancing"] if days else []
    if summary.partial and summary.span:
        parts.append(f"reconciled from {summary.span[0].day:%Y-%m-%d}, the first day with a balance reading")
    return "; ".join(parts)


def _csv(account: Account, month: date, today: date) -> StreamingHttpResponse:
    filename = f"ledger-{account.cloudflare_id[:8]}-{month:%Y-%m}.csv"
    return csv_response(filename, CSV_COLUMNS, _csv_rows(account, month, today))
