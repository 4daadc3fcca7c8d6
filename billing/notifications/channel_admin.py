"""How admins change notification channels, each change audited: create (a webhook's secret is returned once,
never stored in the clear), rotate and finish rotating the secret, send a test, enable or remove."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import audit
from billing.crypto import encrypt_token
from billing.models import (
    Account,
    AuditAction,
    AuditOutcome,
    ChannelKind,
    Delivery,
    NotificationChannel,
)
from billing.notifications import channels, outbox
from billing.notifications.messages import AlertMessage, slack_message, webhook_body


@dataclass(frozen=True)
class Created:
    channel: NotificationChannel
    secret: str | None  # a webhook's signing secret: shown once, then only its use proves it


def _audit(actor, channel: NotificationChannel, change: str, ip_address: str | None) -> None:
    audit.record(
        actor=actor,
        account=channel.account,
        action=AuditAction.ALERT_CHANNEL_CHANGE,
        outcome=AuditOutcome.SUCCEEDED,
        # The hint only: never the URL or the secret.
        parameters={
            "change": change,
            "channel": channel.name,
            "kind": channel.kind,
            "to": channel.destination,
        },
        ip_address=ip_address,
    )


def create_channel(
    actor,
    *,
    name: str,
    kind: str,
    account: Account | None = None,
    url: str = "",
    emails: list[str] | None = None,
    portal_alerts: bool = False,
    ip_address: str | None = None,
) -> Created:
    """Stores a new channel (URL and secret encrypted); returns it with the webhook secret to show once."""
    channel = NotificationChannel(
        name=name, kind=kind, account=account, emails=emails or [], portal_alerts=portal_alerts
    )
    secret = None
    if channel.is_http:
        channels.set_url(channel, url)
    if kind == ChannelKind.WEBHOOK:
        secret = channels.new_secret()
        channel.secret_encrypted = encrypt_token(secret)
    with transaction.atomic():
        channel.save()
        _audit(actor, channel, "created", ip_address)
    return Created(channel, secret)


def rotate_secret(actor, channel: NotificationChannel, *, ip_address: str | None = None) -> str:
    """Starts a rotation: a new secret signs alongside the current one until `finish_rotation`; returns the
    new secret (shown once). Rotating again mid-rotation replaces the new secret, keeping the oldest."""
    secret = channels.new_secret()
    with transaction.atomic():
        channel = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        if not channel.old_secret_encrypted:
            channel.old_secret_encrypted = channel.secret_encrypted
        channel.secret_encrypted = encrypt_token(secret)
        channel.rotation_started_at = timezone.now()
        channel.save(
            update_fields=["secret_encrypted", "old_secret_encrypted", "rotation_started_at", "updated_at"]
        )
        _audit(actor, channel, "secret rotation started", ip_address)
    return secret


def finish_rotation(actor, channel: NotificationChannel, *, ip_address: str | None = None) -> bool:
    """Retires the old secret: only the new one signs from now on. False when no rotation was in progress."""
    with transaction.atomic():
        done = (
            NotificationChannel.objects.filter(pk=channel.pk)
            .exclude(old_secret_encrypted="")
            .update(old_secret_encrypted="", rotation_started_at=None, updated_at=timezone.now())
        )
        if done:
            _audit(actor, channel, "secret rotation finished", ip_address)
    return bool(done)


def set_enabled(actor, channel: NotificationChannel, enabled: bool, *, ip_address: str | None = None) -> None:
    with transaction.atomic():
        NotificationChannel.objects.filter(pk=channel.pk).update(enabled=enabled, updated_at=timezone.now())
        _audit(actor, channel, "enabled" if enabled else "disabled", ip_address)


def delete_channel(actor, channel: NotificationChannel, *, ip_address: str | None = None) -> None:
    with transaction.atomic():
        _audit(actor, channel, "deleted", ip_address)
        channel.delete()


def sample_message(channel: NotificationChannel, requested_by: str) -> AlertMessage:
    now = timezone.now()
    return AlertMessage(
        event_id=f"test:{channel.pk}:{int(now.timestamp())}",
        kind="test",
        kind_label="Test message",
        state="test",
        headline=f"Test message from AI Gateway billing to “{channel.name}”, sent by {requested_by}",
        occurred_at=now.isoformat(),
        account_id=channel.account.cloudflare_id if channel.account else None,
        account_name=channel.account.name if channel.account else None,
        links={"fix": f"{settings.PORTAL_BASE_URL}/alerts/outbox/"},
        fix_label="Open the outbox",
    )


def send_test(channel: NotificationChannel, requested_by: str) -> Delivery | None:
    """Queues a test message to the channel and sends it at once; returns the row as it ended (None for an
    email channel without addresses). A failure stays in the outbox to be retried like any delivery."""
    if channel.kind == ChannelKind.EMAIL:
        context = {"sent_at": timezone.now(), "requested_by": requested_by}
        row = outbox.queue_email(
            "test_email", context, channel.emails, channel=channel, account=channel.account
        )
    else:
        message = sample_message(channel, requested_by)
        payload = slack_message(message) if channel.kind == ChannelKind.SLACK else webhook_body(message)
        row = outbox.queue_message(
            channel, payload, message.headline, template=channel.kind, account=channel.account
        )
    return outbox.send_now(row.pk) if row is not None else None
