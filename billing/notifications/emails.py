"""What an alert's email shows: the figures of its rule, worded as the pages word them, and one button to the
page that fixes it."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from billing import display
from billing.alerts import levels, text
from billing.alerts.checks import Check, Reading
from billing.models import AlertEvent, AlertKind, AlertRule
from billing.money import format_money


def _url(name: str, account) -> str:
    return settings.PORTAL_BASE_URL + reverse(name, args=[account.cloudflare_id])


def dashboard_billing_url(account) -> str:
    """Cloudflare's billing page of the account, where a card is added (auto top-up and payment methods)."""
    return f"{settings.CLOUDFLARE_DASHBOARD_URL.rstrip('/')}/{account.cloudflare_id}/billing"


def action(kind: str, account) -> tuple[str, str]:
    """(button label, URL) of the page that fixes this kind of alert."""
    if kind == AlertKind.SPENDING_LIMIT:
        return "Review the spending limit", _url("spending_limit", account)
    if kind == AlertKind.AUTO_TOPUP_FAILING:
        return "Add a card in the Cloudflare dashboard", dashboard_billing_url(account)
    if kind == AlertKind.STALE_DATA:
        return "Open the account and refresh", _url("account", account)
    if kind == AlertKind.USAGE_SPIKE:
        return "See the usage", _url("usage", account)
    return f"Top up {account.name}", _url("topup_new", account)


def _balance_rows(reading: Reading) -> list[tuple[str, str]]:
    figures = reading.figures
    return [
        ("Balance", format_money(figures.balance)),
        ("Spend per day", format_money(figures.spend_per_day)),
        ("Runway", display.days(figures.runway_days) if figures.balance is not None else "unknown"),
    ]


def figure_rows(kind: str, reading: Reading, rule: AlertRule) -> list[tuple[str, str]]:
    """[(label, value)] the email of this kind shows: its rule's figures first."""
    figures, facts = reading.figures, reading.facts
    auto_topup = ("Auto top-up", reading.auto_topup_state())
    if kind == AlertKind.SPENDING_LIMIT:
        limit = "none"
        if facts.limit_amount is not None:
            limit = f"{format_money(facts.limit_amount)}{display.per_window(facts.limit_duration)}"
        return [
            ("Spending limit", limit),
            ("Spent this window", format_money(figures.limit_spent)),
            ("Used", display.percent(figures.limit_used_percent)),
            ("Alert above", display.threshold_percent(rule.threshold)),
            *_balance_rows(reading),
        ]
    if kind == AlertKind.AUTO_TOPUP_FAILING:
        return [auto_topup, *_balance_rows(reading)]
    if kind == AlertKind.STALE_DATA:
        return [("Data as of", display.ago(figures.data_as_of)), *_balance_rows(reading)]
    if kind == AlertKind.USAGE_SPIKE:
        days = reading.daily_spend()
        return [("Spend today", format_money(days[-1][1] if days else None)), *_balance_rows(reading)]
    return [*_balance_rows(reading), auto_topup]


def email_context(reading: Reading, rule: AlertRule, check: Check, event: AlertEvent) -> dict:
    """What every message of the alert is rendered from; `level` is the most severe level the alert has
    reached when its rule has several (None otherwise)."""
    account = reading.account
    button, url = action(rule.kind, account)
    level = levels.level(rule, event.level)
    rows = figure_rows(rule.kind, reading, rule)
    if level is not None:
        rows.insert(
            0,
            ("Level reached", f"{level.index} of {level.of}: {levels.crossing(rule.kind, level.threshold)}"),
        )
    return {
        "account": account,
        "event": event,
        "rule": rule,
        "kind_label": text.label(rule.kind, reading.figures),
        "check": check,
        "rows": [(f"{name}:", value) for name, value in rows],
        "level": level,
        "balance_taken_at": reading.figures.balance_taken_at,
        "data_as_of": reading.figures.data_as_of,
        "action_label": button,
        "action_url": url,
        "account_url": _url("account", account),
        "alerts_url": _url("account_alerts", account),
    }
