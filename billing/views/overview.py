"""The overview: every account the person may see, with its stored figures, in a fixed number of queries.

It is the one page whose size grows with the number of accounts, so its rows are formatted here rather than
by template includes and filters per cell: at 200 accounts that alone took longer than the whole page may.
"""

from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from billing.figures import STORED_FIGURES_COLUMNS, AccountFigures, stored_figures_of_rows
from billing.models import AlertEvent, AlertKind
from billing.permissions import accounts_for
from billing.templatetags.billing_tags import ago, days, money, money_html, per_window, percent

MUTED_DASH = mark_safe('<span class="muted">–</span>')
# Alert kinds that warn rather than alarm (drawn amber, the others red).
WARNING_KINDS = {AlertKind.STALE_DATA, AlertKind.USAGE_SPIKE, AlertKind.SPENDING_LIMIT}
KIND_LABELS = {kind.value: kind.label.lower() for kind in AlertKind}


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


def overview(request: HttpRequest) -> HttpResponse:
    # Plain rows, not model instances: four instances per account (the account, its summary, spending limit
    # and auto top-up config) made the garbage collector run often enough to show in the page's p95.
    accounts = list(accounts_for(request.user).values(*COLUMNS, *STORED_FIGURES_COLUMNS))
    figures = stored_figures_of_rows(accounts)
    alerts = _open_alerts([account["pk"] for account in accounts])
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
        "stale_accounts": [
            account["name"] or account["cloudflare_id"]
            for account in accounts
            if account["pk"] not in figures or figures[account["pk"]].is_stale
        ],
    }
    return render(request, "billing/overview.html", context)


ROW = (
    "<tr>"
    '<td><a href="{url}"><strong>{name}</strong></a>{role}</td>'
    '<td data-label="Balance" class="num">{balance}</td>'
    '<td data-label="Spend/day (7d)" class="num">{spend}</td>'
    '<td data-label="Runway" class="num">{runway}</td>'
    '<td data-label="Auto top-up">{auto_topup}</td>'
    '<td data-label="Spending limit">{limit}</td>'
    '<td data-label="Alerts" class="alerts">{alerts}</td>'
    '<td class="hide-narrow small {as_of_class}">{as_of}</td>'
    "</tr>\n"
)


class _Urls:
    """A page's URL of every account, reversed once: reverse() per row was a tenth of the page."""

    PLACEHOLDER = "~account~"

    def __init__(self, name: str) -> None:
        self.prefix, _, self.suffix = reverse(name, args=[self.PLACEHOLDER]).partition(self.PLACEHOLDER)

    def __call__(self, cloudflare_id: str) -> str:
        # Quoted as reverse() quotes path arguments.
        return self.prefix + quote(cloudflare_id, safe=RFC3986_SUBDELIMS + "/~:@") + self.suffix


def _row(
    account: dict, figures: AccountFigures | None, alerts: list[tuple], urls: dict[str, _Urls]
) -> SafeString:
    """One account's table row (every dynamic piece escaped by format_html)."""
    role = account["user_role"]
    stale = figures is None or figures.is_stale
    return format_html(
        ROW,
        url=urls["account"](account["cloudflare_id"]),
        name=account["name"],
        role=format_html('<div class="muted small">{}</div>', role) if role else "",
        balance=money_html(figures.balance) if figures and figures.balance is not None else MUTED_DASH,
        spend=money(figures.spend_per_day if figures else None),
        runway=days(figures.runway_days if figures else None),
        auto_topup=_auto_topup(account),
        limit=_limit(account, figures),
        alerts=_alerts(urls["account_alerts"](account["cloudflare_id"]), alerts) if alerts else MUTED_DASH,
        as_of_class="data-as-of stale" if stale else "muted",
        as_of=ago(figures.data_as_of) if figures and figures.data_as_of else "never",
    )


def _auto_topup(account: dict) -> SafeString:
    """As billing/_auto_topup_state.html draws an AutoTopUpConfig (all None when the account has none)."""
    error, reason = account["auto_topup__error"], account["auto_topup__disabled_reason"]
    if error or reason:
        return format_html(
            '<span class="badge bad" title="{} {}">failing: {}</span>',
            error,
            reason,
            Truncator(reason or error).chars(40),
        )
    amount, threshold = account["auto_topup__amount"], account["auto_topup__threshold"]
    if amount is not None and threshold is not None:
        return format_html(
            '{} below {} <span class="badge good" aria-label="on">✓</span>', money(amount), money(threshold)
        )
    return mark_safe('<span class="muted">off</span>')


def _limit(account: dict, figures: AccountFigures | None) -> SafeString:
    if not account["spending_limit__enabled"]:
        return mark_safe('<span class="muted">none</span>')
    cell = format_html(
        "{}{}", money(account["spending_limit__amount"]), per_window(account["spending_limit__duration"])
    )
    used = figures.limit_used_percent if figures else None
    if used is None:
        return cell
    level = "bad" if used >= 90 else "warn" if used >= 75 else "neutral"
    return format_html('{} <span class="badge {}">{}</span>', cell, level, percent(used))


def _open_alerts(account_ids: list[int]) -> dict[int, list[tuple]]:
    """{account id: [(kind, headline, opened_at)]} of the open alerts, oldest first, in one query (plain
    rows: the events' details JSON is not needed here)."""
    grouped: dict[int, list[tuple]] = {}
    events = AlertEvent.objects.filter(account_id__in=account_ids, resolved_at__isnull=True).order_by(
        "opened_at"
    )
    for account_id, *alert in events.values_list("account_id", "kind", "headline", "opened_at"):
        grouped.setdefault(account_id, []).append(alert)
    return grouped


def _alerts(url: str, alerts: list[tuple]) -> SafeString:
    """As billing/alerts/_badges.html draws them (a link to the account's alerts page each)."""
    return format_html_join(
        " ",
        '<a class="badge {}" href="{}" title="{} (since {})">● {}</a>',
        (
            (
                "warn" if kind in WARNING_KINDS else "bad",
                url,
                headline,
                f"{timezone.localtime(opened_at):%Y-%m-%d %H:%M}",
                KIND_LABELS.get(kind, kind),
            )
            for kind, headline, opened_at in alerts
        ),
    )
