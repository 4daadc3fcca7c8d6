"""The overview: every account the person may see, with its stored figures, in a fixed number of queries.

It is the one page whose size grows with the number of accounts, so it reads plain rows (not four model
instances per account), reverses each URL once, and hands the template values ready to print; the cells that
other pages draw too come from the same partials (`_auto_topup_state.html`, `alerts/_badges.html`).
"""

from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

from billing.figures import STORED_FIGURES_COLUMNS, AccountFigures, stored_figures_of_rows
from billing.models import AlertEvent, AutoTopUpConfig
from billing.permissions import accounts_for

# What a row shows besides the stored figures.
COLUMNS = [
    "cloudflare_id",
    "name",
    "user_role",
    "auto_topup__amount",
    "auto_topup__threshold",
    "auto_topup__error",
    "auto_topup__disabled_reason",
]
ALERT_COLUMNS = ("account_id", "kind", "headline", "opened_at")


def overview(request: HttpRequest) -> HttpResponse:
    accounts = list(accounts_for(request.user).values(*COLUMNS, *STORED_FIGURES_COLUMNS))
    figures = stored_figures_of_rows(accounts)
    alerts = AlertEvent.objects.only(*ALERT_COLUMNS).open_by_account([account["pk"] for account in accounts])
    urls = {"account": _Urls("account"), "account_alerts": _Urls("account_alerts")}
    rows = [
        _row(account, figures.get(account["pk"]), alerts.get(account["pk"], []), urls) for account in accounts
    ]
    moments = [f.data_as_of for f in figures.values() if f.data_as_of]
    oldest = min(moments) if moments else None
    context = {
        "rows": rows,
        "data_as_of": oldest,
        "next_sync": oldest + timedelta(seconds=settings.SYNC_BALANCE_INTERVAL) if oldest else None,
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "stale_accounts": [row["name"] for row in rows if row["stale"]],
    }
    return render(request, "billing/overview.html", context)


class _Urls:
    """A page's URL of every account, reversed once: reverse() per row was a tenth of the page."""

    PLACEHOLDER = "~account~"

    def __init__(self, name: str) -> None:
        self.prefix, _, self.suffix = reverse(name, args=[self.PLACEHOLDER]).partition(self.PLACEHOLDER)

    def __call__(self, cloudflare_id: str) -> str:
        # Quoted as reverse() quotes path arguments.
        return self.prefix + quote(cloudflare_id, safe=RFC3986_SUBDELIMS + "/~:@") + self.suffix


def _row(account: dict, figures: AccountFigures | None, alerts: list, urls: dict[str, _Urls]) -> dict:
    """What the template prints for one account."""
    return {
        "name": account["name"] or account["cloudflare_id"],
        "role": account["user_role"],
        "url": urls["account"](account["cloudflare_id"]),
        "alerts_url": urls["account_alerts"](account["cloudflare_id"]),
        "balance": figures.balance if figures else None,
        "spend_per_day": figures.spend_per_day if figures else None,
        "runway_days": figures.runway_days if figures else None,
        "data_as_of": figures.data_as_of if figures else None,
        "stale": figures is None or figures.is_stale,
        "auto_topup": AutoTopUpConfig(
            amount=account["auto_topup__amount"],
            threshold=account["auto_topup__threshold"],
            error=account["auto_topup__error"] or "",
            disabled_reason=account["auto_topup__disabled_reason"] or "",
        ),
        "limit": _limit(account, figures),
        "alerts": alerts,
    }


def _limit(account: dict, figures: AccountFigures | None) -> dict | None:
    """The spending-limit cell: amount, window, % used and its badge level; None when there is no limit."""
    if not account["spending_limit__enabled"]:
        return None
    used = figures.limit_used_percent if figures else None
    return {
        "amount": account["spending_limit__amount"],
        "duration": account["spending_limit__duration"],
        "used": used,
        "level": None if used is None else "bad" if used >= 90 else "warn" if used >= 75 else "neutral",
    }
