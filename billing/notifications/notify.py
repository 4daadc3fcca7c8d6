"""Queueing an alert's notifications: the rule's email (its recipients, managers and subscribers, as always)
and one delivery for each channel the rule chose, all in the caller's transaction, so they exist if and only
if the change that caused them does. The database allows one delivery per (alert, channel, state, number).

`queue_alert` is the notifier `billing.alerts.evaluate_account` is given (see `billing.pipeline`).
"""

from __future__ import annotations

from django.conf import settings

from billing.alerts.evaluation import Notice
from billing.alerts.kinds import DATA_AS_OF, KINDS, VALUE
from billing.alerts.rules import recipients_for
from billing.models import Account, AlertEvent, AlertRule, ChannelKind, Delivery, NotificationChannel
from billing.notifications import outbox
from billing.notifications.emails import email_context
from billing.notifications.messages import AlertMessage, figure_values, slack_message, webhook_body


def alert_message(state: str, context: dict, event: AlertEvent, now) -> AlertMessage:
    """The channel-neutral message of an account alert, from the context its emails are rendered with: its
    figures are the email's, by their stable keys, between the reading now and the time of the data."""
    account: Account = context["account"]
    check, reading, rule = context["check"], context["reading"], context["rule"]
    base = f"{settings.PORTAL_BASE_URL}/accounts/{account.cloudflare_id}/"
    now_figure = [(VALUE, (check,))] if check.value else []
    figures = figure_values([*now_figure, *context["figures"], (DATA_AS_OF, (reading, rule))])
    level = context["level"]
    return AlertMessage(
        event_id=f"alert:{event.pk}",
        kind=event.kind,
        kind_label=context["kind_label"],
        # A level crossed is "still open" to a v1 consumer, with `level` saying which.
        state="reminder" if state == "escalated" else state,
        escalated=state == "escalated",
        level=level.as_payload() if level is not None else None,
        headline=check.headline or event.headline,
        occurred_at=now.isoformat(),
        account_id=account.cloudflare_id,
        account_name=account.name,
        subject=event.subject,
        figures=figures,
        links={"fix": context["action_url"], "alert": base + "alerts/", "account": base},
        fix_label=context["action_label"],
    )


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
    return f"{KINDS[notice.rule.kind].email_templates}_{notice.state}"


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
