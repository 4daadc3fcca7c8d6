from datetime import datetime, timedelta
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString

from billing import charts
from billing.alerts import text as alert_text
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
from billing.selectors import balance_points, one_to_one, usage_buckets
from billing.views.common import account_context

CHART_DAYS = 30


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


def _open_alerts(account: Account) -> dict:
    """The open alerts as of now (headlines from today's figures) and the colour of their banner."""
    events = AlertEvent.objects.open_for([account]).select_related("rule")
    shown = alert_text.shown(events, alert_text.facts_for([account]))
    severity = "bad" if any(alert.severity == "bad" for alert in shown) else "warn"
    return {"open_alerts": shown, "open_alerts_severity": severity}


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
        **_open_alerts(account),
    )
    return render(request, "billing/account.html", context)
