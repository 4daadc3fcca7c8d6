from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from billing import csv_cells, display
from billing.figures import charts
from billing.figures.series import (
    BucketIndex,
    bucket_label,
    range_bounds,
    records,
    still_running,
    usage_buckets,
    usage_history_start,
    usage_rows,
)
from billing.forms.filters import UsageFilterForm, UsageRange
from billing.models import Account, SyncJob, SyncRun, UsageWindow
from billing.permissions import get_account_for
from billing.views.common import account_context

# Usage is stored to six places (fractions of a cent); the export keeps all of them.
MICRO = Decimal("0.000001")
# The usage chart spans the page: a wider drawing keeps its labels at the size of the half-width charts.
FULL_WIDTH = 1200
# Bars the chart draws at most: more are thinner than a pixel at full width and cost bytes and time.
MAX_BARS = 400
# Widths of a bar over hours, in hours: they divide a day, so bars start at the same hours every day.
HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12, 24)
# Rows per block of the streamed CSV export.
CSV_BLOCK = 1000
# The export's columns: each named once, with its unit; the local column's offset says the portal's zone.
CSV_HEADER = (
    "account_id",
    "account_name",
    "bucket_start_utc",
    "bucket_start_local",
    "window",
    "usage_usd",
    "partial",
)
# Rows per page of the table (a week of hours; about three months of days).
TABLE_ROWS: dict[str, int] = {UsageWindow.HOUR: 168, UsageWindow.DAY: 100}


def bar_hours(start: datetime, end: datetime) -> int:
    """Hours per bar of the hour chart: the narrowest step that keeps the range within MAX_BARS bars."""
    hours = -(-int((end - start).total_seconds()) // 3600)
    return next((step for step in HOUR_STEPS if hours <= step * MAX_BARS), HOUR_STEPS[-1])


def range_label(first: date, last: date) -> str:
    """The range's title (see `display.date_range`)."""
    return display.date_range(first, last)


def usage(request: HttpRequest, account_id: str) -> HttpResponseBase:
    account = get_account_for(request.user, account_id)
    form = UsageFilterForm(request.GET or None)
    shown = form.resolve()
    window, first, last = shown.window, shown.first, shown.last
    if request.GET.get("format") == "csv":
        if form.errors or shown.notices:
            # A download is never quietly of another range than the one asked for.
            return _csv_refused(form, shown)
        return _csv(account, window, first, last)
    if form.errors:
        return _range_refused(request, account, form)
    start, end = range_bounds(window, first, last)
    hourly = window == UsageWindow.HOUR
    step_hours = bar_hours(start, end) if hourly else 1
    bars = usage_buckets(account, window, start, end, step=timedelta(hours=step_hours) if hourly else None)
    if not hourly:
        title = "Usage per day (UTC days)"
    elif step_hours == 1:
        title = "Usage per hour"
    else:
        title = f"Usage per {step_hours} hours"
    # The table lists every stored bucket, newest first, a page at a time; the chart sums them into bars.
    page = Paginator(usage_rows(account, window, start, end).reverse(), TABLE_ROWS[window]).get_page(
        request.GET.get("page")
    )
    rows = [
        {"label": bucket_label(window, row["start"]), "value": row["total"], "partial": bool(row["partial"])}
        for row in page.object_list
    ]
    label = range_label(first, last)
    gap = _history_gap(account, window, start)
    context = account_context(
        account,
        "usage",
        form=form,
        notices=shown.notices,
        history_gap=gap,
        table_as_of=SyncRun.objects.last_success_at(account, SyncJob.USAGE, SyncJob.ACCOUNT),
        window=window,
        first=first,
        last=last,
        range_label=label,
        max_days=form.MAX_HOUR_DAYS if hourly else form.MAX_DAY_DAYS,
        step_hours=step_hours,
        title=title,
        chart=charts.bar_chart(bars, title=f"{title}, {label}", hourly=hourly, width=FULL_WIDTH),
        total=sum((bar.value for bar in bars), start=Decimal(0)),
        hourly=hourly,
        rows=rows,
        page=page,
        filter_query=_shown_query(shown),
        csv_query=_shown_query(shown, format="csv"),
    )
    return render(request, "billing/usage.html", context, status=400 if form.errors else 200)


def _range_refused(request: HttpRequest, account: Account, form: UsageFilterForm) -> HttpResponse:
    """The page for a range that cannot be used: its errors beside the fields, which keep what was typed, and
    no figures (any range shown would be one nobody asked for)."""
    window = form.data.get("window", UsageWindow.DAY)
    context = account_context(account, "usage", form=form, typed=form.data, window=window, refused=True)
    return render(request, "billing/usage.html", context, status=400)


def _history_gap(account: Account, window: str, start: datetime) -> dict | None:
    """Where the local history of this window starts when the range asks for earlier buckets, and why: the
    first sync fetched USAGE_BACKFILL_DAYS of days and USAGE_BACKFILL_HOURS_DAYS of hours; the day view goes
    back further. None when the history covers the range."""
    begins = usage_history_start(account, window)
    if begins is not None and begins <= start:
        return None
    hourly = window == UsageWindow.HOUR
    return {
        "begins": begins,
        "hourly": hourly,
        "kept_days": settings.USAGE_BACKFILL_HOURS_DAYS if hourly else settings.USAGE_BACKFILL_DAYS,
        "day_view": _day_view_query(start) if hourly else None,
    }


def _day_view_query(start: datetime) -> str:
    query = QueryDict(mutable=True)
    query.update(
        {"window": UsageWindow.DAY, "start": f"{start:%Y-%m-%d}", "end": f"{timezone.now():%Y-%m-%d}"}
    )
    return query.urlencode()


def _shown_query(shown: UsageRange, **extra: str) -> str:
    """The query of the range as shown (not as typed), so the pages and the download match the title."""
    query = QueryDict(mutable=True)
    query.update(
        {"window": shown.window, "start": f"{shown.first:%Y-%m-%d}", "end": f"{shown.last:%Y-%m-%d}"}
    )
    query.update(extra)
    return query.urlencode()


def _csv_refused(form: UsageFilterForm, shown: UsageRange) -> HttpResponse:
    problems = [str(message) for errors in form.errors.values() for message in errors] + list(shown.notices)
    text = "The CSV was not made: " + " ".join(problems) + "\n"
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def _csv(account: Account, window: str, first: date, last: date) -> StreamingHttpResponse:
    """Every stored bucket of the range, newest first like the page's table (all its pages): the account,
    bucket start in UTC and in the reader's zone (ISO 8601 with offset; each column named once), and the
    amount in USD. Named by the account and the range. Streamed, so a year of hours never sits in memory."""
    filename = f"usage-{account.cloudflare_id[:8]}-{window}-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    # The zone is read now: the rows are written after the view has returned.
    lines = _csv_lines(account, window, *range_bounds(window, first, last), timezone.get_current_timezone())
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_lines(account: Account, window: str, start: datetime, end: datetime, zone) -> Iterator[str]:
    yield csv_cells.line(CSV_HEADER)
    # Bucket starts as whole seconds since the epoch: turning a year of timestamps into datetimes is quicker
    # from integers than through the database driver's and Django's conversions.
    rows = (
        records(account, window, start, end)
        .annotate(epoch=BucketIndex("start", 0, 1))
        .values("epoch")
        .annotate(total=Sum("value"), partial=still_running())
        .order_by("-epoch")
        .values_list("epoch", "total", "partial")
    )
    # Blocks of rows rather than a line at a time: each piece of a streamed response is a write to the
    # client.
    block: list[str] = []
    # The cells that are the same on every line go through csv_cells once; the others are ISO times and
    # decimals, which need neither neutralising nor quoting.
    same = [csv_cells.cell(value) for value in (account.cloudflare_id, account.name)]
    before, after = ",".join(same), csv_cells.cell(window)
    for epoch, total, partial in _driver_rows(rows):
        at = datetime.fromtimestamp(epoch, UTC)
        if not isinstance(total, Decimal):
            total = _SUM_TO_DECIMAL(total)  # SQLite sums NUMERIC columns as floats, as Django converts them
        running = "yes" if partial else "no"
        local = at.astimezone(zone).isoformat()
        block.append(f"{before},{at.isoformat()},{local},{after},{total.quantize(MICRO)},{running}\r\n")
        if len(block) == CSV_BLOCK:
            yield "".join(block)
            block.clear()
    yield "".join(block)


# How Django turns SQLite's float sums into decimals (15 significant digits, then the column's places).
_SUM_TO_DECIMAL = Context(prec=15).create_decimal_from_float


def _driver_rows(queryset) -> Iterator[tuple]:
    """The queryset's rows as the database driver returns them, a block at a time. Django's per-row
    converters were half the time of a year-long hourly export on SQLite; the caller converts the one
    column that needs it. The rows are bounded by the range (at most 366 days of hours)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CSV_BLOCK):
            yield from rows
