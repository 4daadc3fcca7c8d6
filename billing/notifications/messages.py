"""What a notification says, whatever carries it: one `AlertMessage`, turned into a Slack Block Kit message
or the versioned webhook body (`aigateway-billing.alert/v1`, documented in the README and, as a JSON Schema,
in docs/webhook-alert-v1.schema.json).

A message's figures are its kind's (`billing.alerts.kinds`): the webhook names each by its stable key, Slack
by its label, so rewording a label never changes the webhook's body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from billing.alerts.kind_parts import Figure

WEBHOOK_SCHEMA = "aigateway-billing.alert/v1"
STATES = ("opened", "reminder", "resolved", "test")

STATE_WORDS = {
    "opened": "alert opened",
    "reminder": "still open",
    "resolved": "resolved",
    "test": "test message",
}


@dataclass(frozen=True)
class FigureValue:
    """One figure of a message: its stable key, its label, its value (None when unknown); `time`: an ISO 8601
    moment."""

    key: str
    label: str
    value: str | None
    time: bool = False


def figure_values(shown: Iterable[tuple[Figure, tuple]]) -> tuple[FigureValue, ...]:
    """Each figure read from its source, in order; a key met again keeps its first place and takes the later
    value."""
    values: dict[str, FigureValue] = {}
    for figure, source in shown:
        values[figure.key] = FigureValue(figure.key, figure.label, figure.value_of(*source), figure.time)
    return tuple(values.values())


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
    figures: tuple[FigureValue, ...] = ()
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
        "figures": {figure.key: figure.value for figure in message.figures},
        "links": dict(message.links),
        "occurred_at": message.occurred_at,
    }
    if message.level is not None:
        body["level"] = dict(message.level)
    return body


def _escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters (`<!channel>`, `<https://…|…>`); every mrkdwn
    # field and the fallback text go through here. plain_text fields (the header, buttons) are never parsed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shown_time(value: str) -> str:
    try:
        return f"{datetime.fromisoformat(value).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    except (TypeError, ValueError):
        return value


def _fields(figures: tuple[FigureValue, ...]) -> list[dict]:
    shown = [figure for figure in figures if figure.value]
    # "Now" only when it says something the other figures do not (a low balance's value is the balance).
    others = [figure.value for figure in shown if figure.key != "value"]
    shown = [figure for figure in shown if figure.key != "value" or figure.value not in others]
    return [{"type": "mrkdwn", "text": f"*{_escape(f.label)}*\n{_escape(_value(f))}"} for f in shown]


def _value(figure: FigureValue) -> str:
    return _shown_time(figure.value) if figure.time and figure.value else str(figure.value)


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
    fields = _fields(message.figures)
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
    # The fallback `text` is mrkdwn too (notifications, screen readers): `<!channel>` in a name would ping.
    return {"text": _escape(message.headline), "blocks": blocks}
