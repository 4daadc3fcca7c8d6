"""The ledger of one account: the days of a month and the last 13 months (page), the same as CSV, and a
month view to print. Every figure comes from the stored rows of `billing.figures.ledger`."""

from collections.abc import Iterator
from datetime import UTC, date

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from billing import csv_cells
from billing.figures import ledger
from billing.forms.periods import chosen_month
from billing.models import Account, LedgerDay, SyncJob, SyncRun
from billing.permissions import get_account_for
from billing.views.common import account_context

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
# A cell a spreadsheet would read as a formula (OWASP "CSV injection") starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def safe_cell(value: object) -> str:
    """A text cell a spreadsheet will not run: one starting like a formula gets a leading quote. Amounts are
    written by `amount` and are never text, so a negative balance stays a number."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def amount(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _sources(row: LedgerDay) -> str:
    return "; ".join(f"{s['kind']} {s['ref']} {s['amount']}".replace("  ", " ") for s in row.sources)


def _csv_rows(account: Account, month: date, today: date) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for row in ledger.days_of(account, month).days:
        yield [
            "day",
            f"{row.day:%Y-%m-%d}",
            *(amount(getattr(row, name)) for name in ledger.AMOUNTS),
            row.state,
            safe_cell(row.reason),
            safe_cell(_sources(row)),
        ]
    for summary in ledger.months_of(account, today):
        amounts = (amount(getattr(summary, name)) for name in ledger.AMOUNTS)
        yield ["month", f"{summary.first:%Y-%m}", *amounts, summary.state, f"{summary.unexplained} days", ""]


def _csv(account: Account, month: date, today: date) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (csv_cells.line(row) for row in _csv_rows(account, month, today)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"ledger-{account.cloudflare_id[:8]}-{month:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
