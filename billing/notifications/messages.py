"""What a notification says, whatever carries it: one `AlertMessage`, turned into a Slack Block Kit message
or the versioned webhook body (`aigateway-billing.alert/v1`, documented in the README)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

WEBHOOK_SCHEMA = "aigateway-billing.alert/v1"
STATES = ("opened", "reminder", "resolved", "test")

# The figures a message may carry, in the order Slack shows them, with their labels.
FIGURE_LABELS = {
    "value": "Now",
    "balance": "Balance",
    "spend_per_day": "Spend per day",
    "runway": "Runway",
    "auto_topup": "Auto top-up",
    "data_as_of": "Data as of",
    "last_completed_sweep": "Last completed sweep",
    "expected_every": "Expected every",
}
STATE_WORDS = {
    "opened": "alert opened",
    "reminder": "still open",
    "resolved": "resolved",
    "test": "test message",
}
TIME_FIGURES = frozenset({"data_as_of", "last_completed_sweep"})


@dataclass(frozen=True)
class AlertMessage:
    event_id: str
    kind: str
    kind_label: str
    state: str
    headline: str
    occurred_at: str
    account_id: str | None = None
    account_name: str | None = None
    subject: str = ""
    figures: dict[str, str | None] = field(default_factory=dict)
    # How Slack labels each figure (FIGURE_LABELS for the keys it does not name).
    figure_labels: dict[str, str] = field(default_factory=dict)
    # {"fix": url, …}: the first is the button's target.
    links: dict[str, str] = field(default_factory=dict)
    fix_label: str = "Open the portal"
    # Rules with several levels: {"index": 2, "of": 3, "threshold": "20"}, the most severe level reached.
    level: dict | None = None
    # A more severe level was crossed (sent as state "reminder": v1 consumers know it as "still open").
    escalated: bool = False


def webhook_body(message: AlertMessage) -> dict:
    """The JSON body of a webhook delivery (schema aigateway-billing.alert/v1); `level` only for rules with
    several levels."""
    body = {
        "schema": WEBHOOK_SCHEMA,
        "event_id": message.event_id,
        "kind": message.kind,
        "state": message.state,
        "account": {"id": message.account_id, "name": message.account_name}
        if message.account_id is not None
        else None,
        "subject": message.subject,
        "headline": message.headline,
        "figures": dict(message.figures),
        "links": dict(message.links),
        "occurred_at": message.occurred_at,
    }
    if message.level is not None:
        body["level"] = dict(message.level)
    return body


def _escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shown_time(value: str) -> str:
    try:
        return f"{datetime.fromisoformat(value).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    except (TypeError, ValueError):
        return value


def _fields(figures: dict, labels: dict) -> list[dict]:
    shown = {key: str(value) for key, value in figures.items() if value}
    # "Now" only when it says something the other figures do not (a low balance's value is the balance).
    if "value" in shown and shown["value"] in [v for key, v in shown.items() if key != "value"]:
        del shown["value"]
    labels = {**FIGURE_LABELS, **labels}
    return [
        {"type": "mrkdwn", "text": f"*{_escape(labels.get(key, key))}*\n{_escape(_value(key, value))}"}
        for key, value in shown.items()
    ]


def _value(key: str, value: str) -> str:
    return _shown_time(value) if key in TIME_FIGURES else value


def _button(text: str, url: str, primary: bool = False) -> dict:
    button = {"type": "button", "text": {"type": "plain_text", "text": text[:75]}, "url": url}
    if primary:
        button["style"] = "primary"
    return button


def slack_message(message: AlertMessage) -> dict:
    """A Block Kit message: the headline, the figures, a button to the page that fixes it."""
    where = message.account_name or "the whole portal"
    header = f"{message.kind_label} · {STATE_WORDS.get(message.state, message.state)}"
    if message.level is not None and message.state != "resolved":
        of = f"level {message.level['index']} of {message.level['of']}"
        header = f"{message.kind_label} · {'now ' + of if message.escalated else of}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(message.headline)}*"}},
    ]
    fields = _fields(message.figures, message.figure_labels)
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    buttons = []
    if "fix" in message.links:
        buttons.append(_button(message.fix_label, message.links["fix"], primary=message.state != "resolved"))
    if "alert" in message.links:
        buttons.append(_button("Alert history", message.links["alert"]))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    context = f"{_escape(where)} · {_shown_time(message.occurred_at)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": message.headline, "blocks": blocks}
