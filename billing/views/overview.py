from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.figures import AccountFigures, figures_for_accounts
from billing.models import Account, AlertEvent
from billing.permissions import accounts_for
from billing.views.common import open_alerts_by_account


@dataclass(frozen=True)
class OverviewRow:
    account: Account
    figures: AccountFigures | None
    open_alerts: list[AlertEvent]


def overview(request: HttpRequest) -> HttpResponse:
    """Every account the person may see, in a fixed number of queries however many there are."""
    accounts = list(accounts_for(request.user).select_related("auto_topup", "spending_limit"))
    figures = figures_for_accounts(accounts)
    alerts = open_alerts_by_account(accounts)
    rows = [OverviewRow(account, figures.get(account.pk), alerts.get(account.pk, [])) for account in accounts]
    moments = [row.figures.data_as_of for row in rows if row.figures and row.figures.data_as_of]
    oldest = min(moments) if moments else None
    context = {
        "rows": rows,
        "data_as_of": oldest,
        "next_sync": oldest + timedelta(seconds=settings.SYNC_BALANCE_INTERVAL) if oldest else None,
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "stale_accounts": [row.account for row in rows if not row.figures or row.figures.is_stale],
    }
    return render(request, "billing/overview.html", context)
