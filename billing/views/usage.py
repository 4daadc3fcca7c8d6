import csv
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing import charts
from billing.forms import UsageFilterForm
from billing.models import UsageWindow
from billing.permissions import get_account_for
from billing.views.account import usage_buckets
from billing.views.common import account_context

# Usage is stored to six places (fractions of a cent); the export keeps all of them.
MICRO = Decimal("0.000001")
# The usage chart spans the page: a wider drawing keeps its labels at the size of the half-width charts.
FULL_WIDTH = 1200


def _bounds(window: str, first, last) -> tuple[datetime, datetime]:
    """The instants a range of days covers: UTC days for day buckets (Cloudflare cuts days in UTC),
    the portal's own days for hour buckets."""
    zone = UTC if window == UsageWindow.DAY else timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def usage(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    form = UsageFilterForm(request.GET or None)
    window, first, last = form.range()
    start, end = _bounds(window, first, last)
    buckets = usage_buckets(account, window, start, end)
    if request.GET.get("format") == "csv":
        return _csv(account, window, buckets)
    hourly = window == UsageWindow.HOUR
    title = "Usage per hour" if hourly else "Usage per day (UTC days)"
    context = account_context(
        account,
        "usage",
        form=form,
        window=window,
        first=first,
        last=last,
        buckets=buckets,
        chart=charts.bar_chart(
            buckets, title=f"{title}, {first:%b %d} – {last:%b %d}", hourly=hourly, width=FULL_WIDTH
        ),
        total=sum((bucket.value for bucket in buckets), start=Decimal(0)),
        hourly=hourly,
        csv_query=_with_format(request, "csv"),
    )
    return render(request, "billing/usage.html", context)


def _with_format(request: HttpRequest, fmt: str) -> str:
    query = request.GET.copy()
    query["format"] = fmt
    return query.urlencode()


def _csv(account, window: str, buckets: list[charts.Bar]) -> HttpResponse:
    """The same rows as the table: bucket start in UTC and in the portal's zone, and the amount in USD."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"usage-{account.cloudflare_id[:8]}-{window}-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    zone = timezone.get_current_timezone_name()
    writer.writerow(["bucket_start_utc", f"bucket_start_{zone}", "window", "usage_usd", "partial"])
    for bucket in buckets:
        writer.writerow(
            [
                bucket.start.astimezone(UTC).isoformat(),
                timezone.localtime(bucket.start).isoformat(),
                window,
                f"{bucket.value.quantize(MICRO)}",
                "yes" if bucket.partial else "no",
            ]
        )
    return response
