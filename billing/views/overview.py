"""The overview: every account the person may see, with its stored figures, in a fixed number of queries.

It is the one page whose size grows with the number of accounts, so its rows are formatted here rather than
by template includes and filters per cell: at 200 accounts that alone took longer than the whole page may.
"""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from billing.figures import AccountFigures, stored_figures
from billing.models import Account, AlertEvent, AlertKind
from billing.permissions import accounts_for
from billing.templatetags.billing_tags import ago, days, money, money_html, per_window, percent
from billing.views.common import open_alerts_by_account

MUTED_DASH = mark_safe('<span class="muted">–</span>')  # noqa: S308 (a constant)
# Alert kinds that warn rather than alarm (drawn amber, the others red).
WARNING_KINDS = {AlertKind.STALE_DATA, AlertKind.USAGE_SPIKE, AlertKind.SPENDING_LIMIT}


def overview(request: HttpRequest) -> HttpResponse:
    accounts = list(accounts_for(request.user).select_related("auto_topup", "spending_limit", "summary"))
    figures = stored_figures(accounts)
    alerts = open_alerts_by_account(accounts)
    rows = [_row(account, figures.get(account.pk), alerts.get(account.pk, [])) for account in accounts]
    moments = [f.data_as_of for f in figures.values() if f.data_as_of]
    oldest = min(moments) if moments else None
    context = {
        "rows": rows,
        "data_as_of": oldest,
        "next_sync": oldest + timedelta(seconds=settings.SYNC_BALANCE_INTERVAL) if oldest else None,
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "stale_accounts": [
            account for account in accounts if account.pk not in figures or figures[account.pk].is_stale
        ],
    }
    return render(request, "billing/overview.html", context)


def _row(account: Account, figures: AccountFigures | None, alerts: list[AlertEvent]) -> dict[str, SafeString]:
    """The cells of one account's row, as HTML (every dynamic piece escaped by format_html)."""
    url = reverse("account", args=[account.cloudflare_id])
    name = format_html('<a href="{}"><strong>{}</strong></a>', url, account.name)
    role = getattr(account, "user_role", None)
    if role:
        name = format_html('{}<div class="muted small">{}</div>', name, role)
    stale = figures is None or figures.is_stale
    return {
        "name": name,
        "balance": money_html(figures.balance) if figures and figures.balance is not None else MUTED_DASH,
        "spend": money(figures.spend_per_day if figures else None),
        "runway": days(figures.runway_days if figures else None),
        "auto_topup": _auto_topup(_one_to_one(account, "auto_topup")),
        "limit": _limit(_one_to_one(account, "spending_limit"), figures),
        "alerts": _alerts(account, alerts),
        "as_of_class": "data-as-of stale" if stale else "muted",
        "as_of": ago(figures.data_as_of) if figures and figures.data_as_of else "never",
    }


def _one_to_one(account: Account, name: str):
    try:
        return getattr(account, name)
    except getattr(Account, name).RelatedObjectDoesNotExist:
        return None


def _auto_topup(config) -> SafeString:
    """As billing/_auto_topup_state.html draws it on the account page."""
    if config is not None and config.failing:
        reason = config.disabled_reason or config.error
        return format_html(
            '<span class="badge bad" title="{} {}">failing: {}</span>',
            config.error,
            config.disabled_reason,
            Truncator(reason).chars(40),
        )
    if config is not None and config.enabled:
        return format_html(
            '{} below {} <span class="badge good" aria-label="on">✓</span>',
            money(config.amount),
            money(config.threshold),
        )
    return mark_safe('<span class="muted">off</span>')  # noqa: S308 (a constant)


def _limit(limit, figures: AccountFigures | None) -> SafeString:
    if limit is None or not limit.enabled:
        return mark_safe('<span class="muted">none</span>')  # noqa: S308 (a constant)
    cell = format_html("{}{}", money(limit.amount), per_window(limit.duration))
    used = figures.limit_used_percent if figures else None
    if used is None:
        return cell
    level = "bad" if used >= 90 else "warn" if used >= 75 else "neutral"
    return format_html('{} <span class="badge {}">{}</span>', cell, level, percent(used))


def _alerts(account: Account, alerts: list[AlertEvent]) -> SafeString:
    """As billing/alerts/_badges.html draws them."""
    if not alerts:
        return MUTED_DASH
    url = reverse("account_alerts", args=[account.cloudflare_id])
    return format_html_join(
        " ",
        '<a class="badge {}" href="{}" title="{} (since {})">● {}</a>',
        (
            (
                "warn" if alert.kind in WARNING_KINDS else "bad",
                url,
                alert.headline,
                f"{timezone.localtime(alert.opened_at):%Y-%m-%d %H:%M}",
                alert.get_kind_display().lower(),
            )
            for alert in alerts
        ),
    )
