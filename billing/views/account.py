from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing.alerts import headlines
from billing.alerts import text as alert_text
from billing.figures import charts
from billing.figures.gateway_spend import cost_by_day, history_of, preset, spend_over
from billing.figures.series import balance_points, usage_buckets
from billing.models import (
    Account,
    AlertEvent,
    BalanceSnapshot,
    InvoicePreview,
    SyncJob,
    SyncRun,
    TopUpStatus,
    UsageWindow,
)
from billing.money import cents_to_dollars, format_money
from billing.permissions import get_account_for
from billing.views.budget import month_context
from billing.views.common import account_context

CHART_DAYS = 30
TOP = 5
# The range of "where the money goes": the breakdown's and the Gateways tab's "Last 30 days".
MONEY_RANGE = "30d"


# A rise smaller than this between two snapshots is rounding, not credit arriving.
MIN_ARRIVAL = Decimal("0.50")
# How far a completed top-up's time may be from the snapshots around the rise it explains.
ARRIVAL_SLACK = timedelta(minutes=10)
ARRIVAL_LABELS = {"portal": "Top-up from this portal", "auto": "Auto top-up", "elsewhere": "Credit added"}


def credit_arrivals(account: Account, points: list, since: datetime) -> list[tuple[datetime, str, str]]:
    """[(time, label, kind)] of every credit arrival: a completed portal top-up ("portal"); a rise between two
    snapshots not explained by one, "auto" when auto top-up was on before it and the rise is about its
    amount, else "elsewhere" (the Cloudflare dashboard, a credit)."""
    # Plain rows: instances with deferred fields would each load `account_id` again (one query per top-up).
    topups = list(
        account.topups.filter(
            status=TopUpStatus.COMPLETED, completed_at__gte=since - ARRIVAL_SLACK
        ).values_list("completed_at", "amount_cents")
    )
    arrivals = [
        (completed_at, f"{ARRIVAL_LABELS['portal']} {format_money(cents_to_dollars(cents))}", "portal")
        for completed_at, cents in topups
        if completed_at is not None  # (completed top-ups have the time)
    ]
    rises = [
        (before, after)
        for before, after in pairwise(points)
        if after[1] - before[1] >= MIN_ARRIVAL
        and not any(before[0] - ARRIVAL_SLACK <= done <= after[0] + ARRIVAL_SLACK for done, _ in topups)
    ]
    configs = dict(
        BalanceSnapshot.objects.filter(account=account, taken_at__in=[b[0] for b, _ in rises]).values_list(
            "taken_at", "auto_topup_amount"
        )
    )
    for before, after in rises:
        rise, amount = after[1] - before[1], configs.get(before[0])
        kind = "auto" if amount and abs(rise - amount) <= max(amount / 10, Decimal(1)) else "elsewhere"
        arrivals.append((after[0], f"{ARRIVAL_LABELS[kind]} +{format_money(rise)}", kind))
    return sorted(arrivals)


def balance_chart(account: Account, since: datetime) -> dict:
    """The balance chart with a marker at every credit arrival, its legend and whether it draws zero."""
    points = balance_points(account, since)
    arrivals = credit_arrivals(account, points, since)
    chart = charts.line_chart(points, title=f"Balance, last {CHART_DAYS} days", markers=arrivals)
    kinds = {kind for _, _, kind in arrivals}
    return {
        "balance_chart": chart,
        "balance_days": balance_days(points),
        "chart_legend": [(kind, ARRIVAL_LABELS[kind]) for kind in ARRIVAL_LABELS if kind in kinds],
        "chart_zero_line": chart is not None and 'class="zero"' in chart,
    }


def balance_days(points: list) -> list[tuple]:
    """The chart as a table: the last balance read on each UTC day, newest first (its text equivalent)."""
    last: dict = {}
    for taken_at, value in points:
        last[taken_at.astimezone(UTC).date()] = value
    return sorted(last.items(), reverse=True)


def _open_alerts(account: Account) -> dict:
    """The open alerts as of now (headlines from today's figures) and the colour of their banner."""
    events = AlertEvent.objects.open_for([account]).select_related("rule")
    shown = alert_text.shown(events, headlines.facts_for([account]))
    severity = "bad" if any(alert.severity == "bad" for alert in shown) else "warn"
    return {"open_alerts": shown, "open_alerts_severity": severity}


def where_the_money_goes(account: Account, bars, since: datetime) -> dict:
    """Top gateways and models over the last 30 days (the preset, as the Gateways tab and the breakdown read
    it), and per UTC day of the chart the billed usage beside Cloudflare's analytics estimate (newest first)
    with the difference."""
    now = timezone.now()
    billed = {bar.start.date(): bar for bar in bars}
    today = now.date()
    estimates = cost_by_day(account.pk, since.date(), max(today, *billed) if billed else today, now)
    days = sorted(set(billed) | set(estimates), reverse=True)
    compare: list[dict[str, Any]] = []
    for day in days:
        value = billed[day].value if day in billed else None
        estimate = estimates.get(day)
        difference = None if value is None or estimate is None else estimate - value
        partial = day in billed and billed[day].partial
        compare.append(
            {"day": day, "billed": value, "estimate": estimate, "difference": difference, "partial": partial}
        )
    # Totals over the days that have both figures only: the analytics history may start later than the
    # billed one (its first sync reads GATEWAY_SPEND_BACKFILL_DAYS), and a missing day is not a zero.
    both = [r for r in compare if r["billed"] is not None and r["estimate"] is not None]
    history = history_of(account.pk, now)
    spend = spend_over(account.pk, preset(MONEY_RANGE, now), "gateway", "model", "provider", history=history)
    return {
        "money": spend,
        "top_gateways": spend.by("gateway")[:TOP],
        "top_models": spend.by("model", "provider")[:TOP],
        "analytics_since": min(estimates) if estimates else None,
        "compare": compare,
        "compare_days": len(both),
        "compare_billed": sum((r["billed"] for r in both), start=Decimal(0)),
        "compare_estimate": sum((r["estimate"] for r in both), start=Decimal(0)),
        "analytics": SyncRun.objects.last_finished(account, SyncJob.GATEWAY_SPEND),
    }


def account_detail(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    since = timezone.now() - timedelta(days=CHART_DAYS)
    bars = usage_buckets(account, UsageWindow.DAY, since)
    context = account_context(
        account,
        "account",
        snapshot=BalanceSnapshot.objects.latest_for(account),
        **balance_chart(account, since),
        usage_chart=charts.bar_chart(bars, title=f"Usage per day (UTC days), last {CHART_DAYS} days"),
        usage_total=sum((bar.value for bar in bars), start=Decimal(0)),
        usage_days=bars,
        chart_days=CHART_DAYS,
        chart_start=since.date(),
        preview=InvoicePreview.objects.filter(account=account).first(),
        auto_topup=account.one_to_one("auto_topup"),
        spending_limit=account.one_to_one("spending_limit"),
        recent_topups=list(account.topups.all()[:5]),
        **_open_alerts(account),
        **where_the_money_goes(account, bars, since),
    )
    context.update(month_context(account, context["figures"]))
    return render(request, "billing/account.html", context)
