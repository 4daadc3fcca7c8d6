"""Queueing an alert's notifications: the rule's email (its recipients, managers and subscribers, as always)
and one delivery for each channel the rule chose, all in the caller's transaction, so they exist if and only
if the change that caused them does. The database allows one delivery per (alert, channel, state, number).

`queue_alert` is the notifier `billing.alerts.evaluate_account` is given (see `billing.pipeline`).
"""

from __future__ import annotations

import re

from django.conf import settings

from billing.alerts.evaluation import Notice
from billing.alerts.rules import recipients_for
from billing.models import (
    Account,
    AlertEvent,
    AlertKind,
    AlertRule,
    ChannelKind,
    Delivery,
    NotificationChannel,
)
from billing.notifications import outbox
from billing.notifications.emails import email_context
from billing.notifications.messages import AlertMessage, slack_message, webhook_body

# Kinds whose emails have their own templates (`<prefix>_opened`, `_reminder`, `_resolved`).
EMAIL_PREFIX = {AlertKind.GATEWAY_RULE: "gateway_rule"}
# The page that fixes each kind of alert (under the account's pages), and its button's words.
FIX_PAGES = {
    AlertKind.LOW_BALANCE: ("topups/new/", "Top up"),
    AlertKind.RUNWAY: ("topups/new/", "Top up"),
    AlertKind.AUTO_TOPUP_FAILING: ("auto-topup/", "Fix auto top-up"),
    AlertKind.SPENDING_LIMIT: ("spending-limit/", "Review the spending limit"),
    AlertKind.USAGE_SPIKE: ("usage/", "See the usage"),
    AlertKind.STALE_DATA: ("", "Open the account"),
}


def _when(value) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def alert_message(state: str, context: dict, event: AlertEvent, now) -> AlertMessage:
    """The channel-neutral message of an account alert, from the context its emails are rendered with."""
    account: Account = context["account"]
    check = context.get("check")
    base = f"{settings.PORTAL_BASE_URL}/accounts/{account.cloudflare_id}/"
    page, label = FIX_PAGES.get(event.kind, ("alerts/", "See the alert"))
    fix = context.get("action_url") or base + page
    figures, labels = _figures(context)
    level = context.get("level")
    return AlertMessage(
        event_id=f"alert:{event.pk}",
        kind=event.kind,
        kind_label=context.get("kind_label") or AlertKind(event.kind).label,
        # A level crossed is "still open" to a v1 consumer, with `level` saying which.
        state="reminder" if state == "escalated" else state,
        escalated=state == "escalated",
        level=level.as_payload() if level is not None else None,
        headline=getattr(check, "headline", None) or event.headline,
        occurred_at=_when(now),
        account_id=account.cloudflare_id,
        account_name=account.name,
        subject=event.subject,
        figures=figures,
        figure_labels=labels,
        links={"fix": _absolute(fix), "alert": base + "alerts/", "account": base},
        fix_label=context.get("action_label") or label,
    )


def _absolute(url: str) -> str:
    return url if "://" in url else f"{settings.PORTAL_BASE_URL}{url}"


def _figures(context: dict) -> tuple[dict, dict]:
    """({key: value}, {key: label}) from the email's figure rows ([(label, value)]): the keys are the labels
    in snake_case ("Spend per day" → "spend_per_day"), so a webhook consumer can rely on them."""
    figures: dict[str, str | None] = {}
    labels: dict[str, str] = {}
    check = context.get("check")
    if getattr(check, "value", None):
        figures["value"], labels["value"] = check.value, "Now"
    for label, value in context.get("rows", []):
        label = str(label).rstrip(":").strip()
        key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        figures[key], labels[key] = (None if value in (None, "", "–") else str(value)), label
    figures["data_as_of"] = _when(context.get("data_as_of"))
    labels.setdefault("data_as_of", "Data as of")
    return figures, labels


def channel_payload(channel: NotificationChannel, message: AlertMessage) -> dict:
    return slack_message(message) if channel.kind == ChannelKind.SLACK else webhook_body(message)


def queue_to_channel(
    channel: NotificationChannel, message: AlertMessage, email: tuple[str, dict], **delivery
) -> Delivery | None:
    """One delivery of `message` to `channel`: an email channel gets the email (template, context)."""
    if channel.kind == ChannelKind.EMAIL:
        name, context = email
        return outbox.queue_email(name, context, channel.emails, channel=channel, **delivery)
    return outbox.queue_message(
        channel, channel_payload(channel, message), message.headline, template=f"{channel.kind}", **delivery
    )


def rule_channels(rule: AlertRule) -> list[NotificationChannel]:
    return list(rule.channels.filter(enabled=True))


def email_template(notice: Notice) -> str:
    """The email a notice is written with: a limit newly exceeded with the opening words, a level crossed with
    the escalation's, the others with their kind's template of the state."""
    if notice.exceeded:
        return "alert_opened"
    if notice.state == "escalated":
        return "alert_escalated"
    return f"{EMAIL_PREFIX.get(notice.rule.kind, 'alert')}_{notice.state}"


def queue_alert(notice: Notice) -> bool:
    """Queues the rule's email and a delivery per chosen channel for one state of the notice's alert
    ("opened", "reminder" number `sequence`, "escalated" to level `sequence`, "resolved"); True when the
    rule's email was queued (False: it has no recipients)."""
    event, rule = notice.event, notice.rule
    name, account = email_template(notice), event.account
    context = email_context(notice.reading, rule, notice.check, event)
    delivery = {"alert_state": notice.state, "sequence": notice.sequence}
    email = outbox.queue_email(
        name, context, recipients_for(rule, account), account=account, event=event, **delivery
    )
    channels = rule_channels(rule)
    if channels:
        message = alert_message(notice.state, context, event, notice.reading.now)
        for channel in channels:
            queue_to_channel(channel, message, (name, context), account=account, event=event, **delivery)
    return email is not None
