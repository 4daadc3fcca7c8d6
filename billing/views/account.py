from datetime import datetime, timedelta
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString

from billing import charts
from billing.models import (
    Account,
    AlertEvent,
    BalanceSnapshot,
    InvoicePreview,
    TopUpStatus,
    UsageWindow,
)
from billing.money import cents_to_dollars, format_money
from billing.permissions import get_account_for
from billing.selectors import (
    balance_points,
    estimate_by_day,
    last_analytics_run,
    one_to_one,
    spend_by,
    spend_rows,
    usage_buckets,
)
from billing.views.common import account_context

CHART_DAYS = 30
TOP = 5


def balance_chart(account: Account, since: datetime) -> SafeString | None:
    topups = account.topups.filter(status=TopUpStatus.COMPLETED, completed_at__gte=since).only(
        "completed_at", "amount_cents"
    )
    markers = [
        (topup.completed_at, f"Top-up {format_money(cents_to_dollars(topup.amount_cents))}")
        for topup in topups
    ]
    return charts.line_chart(
        balance_points(account, since), title=f"Balance, last {CHART_DAYS} days", markers=markers
    )


def where_the_money_goes(account: Account, bars, since: datetime) -> dict:
    """Top gateways and models over the chart's days, and per UTC day the billed usage beside Cloudflare's
    analytics estimate (newest first) with the difference."""
    rows = spend_rows(account, since, timezone.now() + timedelta(days=1), hourly=False)
    billed = {bar.start.date(): bar for bar in bars}
    today = timezone.now().date()
    first = since.date()
    estimates = estimate_by_day(account, first, max(today, *billed) if billed else today)
    days = sorted(set(billed) | set(estimates), reverse=True)
    compare = []
    for day in days:
        value = billed[day].value if day in billed else None
        estimate = estimates.get(day)
        difference = None if value is None or estimate is None else estimate - value
        partial = day in billed and billed[day].partial
        compare.append(
            {"day": day, "billed": value, "estimate": estimate, "difference": difference, "partial": partial}
        )
    return {
        "top_gateways": spend_by(rows, "gateway", limit=TOP),
        "top_models": spend_by(rows, "model", "provider", limit=TOP),
        "compare": compare,
        "compare_billed": sum((r["billed"] for r in compare if r["billed"] is not None), start=Decimal(0)),
        "compare_estimate": sum(
            (r["estimate"] for r in compare if r["estimate"] is not None), start=Decimal(0)
        ),
        "analytics": last_analytics_run(account),
    }


def account_detail(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    since = timezone.now() - timedelta(days=CHART_DAYS)
    bars = usage_buckets(account, UsageWindow.DAY, since)
    context = account_context(
        account,
        "account",
        snapshot=BalanceSnapshot.objects.latest_for(account),
        balance_chart=balance_chart(account, since),
        usage_chart=charts.bar_chart(bars, title=f"Usage per day (UTC days), last {CHART_DAYS} days"),
        usage_total=sum((bar.value for bar in bars), start=Decimal(0)),
        chart_days=CHART_DAYS,
        preview=InvoicePreview.objects.filter(account=account).first(),
        auto_topup=one_to_one(account, "auto_topup"),
        spending_limit=one_to_one(account, "spending_limit"),
        recent_topups=list(account.topups.all()[:5]),
        open_alerts=list(AlertEvent.objects.open_for([account])),
        **where_the_money_goes(account, bars, since),
    )
    return render(request, "billing/account.html", context)
