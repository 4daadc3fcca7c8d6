"""What an alert's messages are written from: the figures its kind reports (its entry in
`billing.alerts.kinds`), worded as the pages word them, and one button to the page that fixes it. The email
templates read the context built here; Slack and webhooks read the same figures by their stable keys."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from billing.alerts import text
from billing.alerts.checks import Check, Reading
from billing.alerts.kind_parts import Figure, Kind
from billing.alerts.kinds import KINDS, LEVEL_REACHED
from billing.alerts.levels import Level
from billing.models import AlertEvent, AlertRule


def _url(name: str, account) -> str:
    return settings.PORTAL_BASE_URL + reverse(name, args=[account.cloudflare_id])


def alert_figures(
    kind: Kind, reading: Reading, rule: AlertRule, level: Level | None
) -> list[tuple[Figure, tuple]]:
    """The figures an alert's messages show, in order, each with what it is read from: the level reached (a
    rule with several levels), then its kind's."""
    found: list[tuple[Figure, tuple]] = [(LEVEL_REACHED, (level,))] if level is not None else []
    return found + [(figure, (reading, rule)) for figure in kind.figures]


def email_context(reading: Reading, rule: AlertRule, check: Check, event: AlertEvent) -> dict:
    """What every message of the alert is rendered from; `level` is the most severe level the alert has
    reached when its rule has several (None otherwise)."""
    account, kind = reading.account, KINDS[rule.kind]
    button, url = kind.fix.link(account, check.details)
    level = kind.level(rule, event.level)
    figures = alert_figures(kind, reading, rule, level)
    return {
        "account": account,
        "event": event,
        "rule": rule,
        "kind_label": text.label(rule.kind, reading.figures),
        "check": check,
        "reading": reading,
        "figures": figures,
        "rows": [(f"{figure.label}:", figure.words(*source)) for figure, source in figures],
        "figures_template": f"emails/_{kind.email_templates}_figures",
        "level": level,
        "balance_taken_at": reading.figures.balance_taken_at,
        "data_as_of": reading.figures.data_as_of,
        "action_label": button,
        "action_url": url,
        "account_url": _url("account", account),
        "alerts_url": _url("account_alerts", account),
    }
