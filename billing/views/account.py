from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString

from billing import charts
from billing.models import (
    Account,
    AutoTopUpConfig,
    InvoicePreview,
    SpendingLimit,
    TopUpStatus,
    UsageRecord,
    UsageWindow,
)
from billing.money import cents_to_dollars, format_money
from billing.permissions import get_account_for
from billing.views.common import account_context, latest_snapshot, open_alerts_by_account

CHART_DAYS = 30
# Enough points for a smooth line at any screen width; more only costs bytes.
MAX_LINE_POINTS = 360


def thin(points: list, limit: int = MAX_LINE_POINTS) -> list:
    """At most about `limit` evenly spaced points, always keeping the last one (the current balance)."""
    if len(points) <= limit:
        return points
    step = -(-len(points) // limit)
    kept = points[::step]
    return kept if kept[-1] == points[-1] else [*kept, points[-1]]


def balance_chart(account: Account, since: datetime) -> SafeString | None:
    points = list(
        account.balance_snapshots.filter(taken_at__gte=since)
        .order_by("taken_at")
        .values_list("taken_at", "balance")
    )
    topups = account.topups.filter(status=TopUpStatus.COMPLETED, completed_at__gte=since).only(
        "completed_at", "amount_cents"
    )
    markers = [
        (topup.completed_at, f"Top-up {format_money(cents_to_dollars(topup.amount_cents))}")
        for topup in topups
    ]
    return charts.line_chart(thin(points), title=f"Balance, last {CHART_DAYS} days", markers=markers)


def usage_buckets(
    account: Account, window: str, start: datetime, end: datetime | None = None
) -> list[charts.Bar]:
    """Usage per bucket from `start` (summed over Cloudflare's summaries); the running bucket is partial.

    Day buckets are labelled with their UTC date, as Cloudflare cuts them; hour buckets in local time."""
    now = timezone.now()
    records = UsageRecord.objects.filter(account=account, window=window, start__gte=start)
    if end is not None:
        records = records.filter(start__lt=end)
    rows = records.values("start").annotate(total=Sum("value"), last_end=Max("end")).order_by("start")
    bars = []
    for row in rows:
        bucket = row["start"]
        if window == UsageWindow.HOUR:
            label = timezone.localtime(bucket).strftime("%Y-%m-%d %H:%M")
        else:
            label = bucket.astimezone(UTC).strftime("%Y-%m-%d")
        bars.append(charts.Bar(start=bucket, value=row["total"], label=label, partial=row["last_end"] > now))
    return bars


def one_to_one(account: Account, name: str):
    """A reverse one-to-one row (auto top-up config, spending limit) or None when never synced."""
    try:
        return getattr(account, name)
    except (AutoTopUpConfig.DoesNotExist, SpendingLimit.DoesNotExist):
        return None


def account_detail(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    since = timezone.now() - timedelta(days=CHART_DAYS)
    bars = usage_buckets(account, UsageWindow.DAY, since)
    context = account_context(
        account,
        "account",
        snapshot=latest_snapshot(account),
        balance_chart=balance_chart(account, since),
        usage_chart=charts.bar_chart(bars, title=f"Usage per day (UTC days), last {CHART_DAYS} days"),
        usage_total=sum((bar.value for bar in bars), start=Decimal(0)),
        chart_days=CHART_DAYS,
        preview=InvoicePreview.objects.filter(account=account).first(),
        auto_topup=one_to_one(account, "auto_topup"),
        spending_limit=one_to_one(account, "spending_limit"),
        recent_topups=list(account.topups.all()[:5]),
        open_alerts=open_alerts_by_account([account]).get(account.pk, []),
    )
    return render(request, "billing/account.html", context)
