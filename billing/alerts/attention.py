"""Someone on it: acknowledging an open alert (reminders stop) or snoozing it until a time (reminders paused
until then). Anyone who can see the alert may do either; both are audited. A more severe level reached is
still told, and ends both (evaluation.py), so the person hears that it got worse and reminders resume."""

from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from billing import audit
from billing.models import AlertEvent, AuditAction, AuditOutcome

# The longest snooze: a reminder should not be silenced for good by a date typed a year ahead.
MAX_SNOOZE_DAYS = 30


def reminders_paused(event: AlertEvent, now: datetime) -> bool:
    """Whether the alert's reminders wait: acknowledged, or snoozed until after `now`."""
    return event.acknowledged_at is not None or (
        event.snoozed_until is not None and event.snoozed_until > now
    )


def _audit(actor: User, event: AlertEvent, action: str, before, after, ip_address: str | None) -> None:
    audit.record(
        actor=actor,
        account=event.account,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"alert": event.pk, "headline": event.headline, "before": before, "after": after},
        ip_address=ip_address,
    )


def acknowledge(actor: User, event: AlertEvent, *, ip_address: str | None = None) -> bool:
    """Marks the open alert acknowledged by `actor`; False when it is resolved or already acknowledged."""
    now = timezone.now()
    claimed = AlertEvent.objects.filter(
        pk=event.pk, resolved_at__isnull=True, acknowledged_at__isnull=True
    ).update(acknowledged_at=now, acknowledged_by=actor, acknowledged_by_name=actor.get_username())
    if claimed != 1:
        return False
    _audit(actor, event, AuditAction.ALERT_ACKNOWLEDGED, None, now.isoformat(), ip_address)
    return True


def snooze(actor: User, event: AlertEvent, until: datetime, *, ip_address: str | None = None) -> bool:
    """Pauses the open alert's reminders until `until` (the caller checked it is ahead and within
    MAX_SNOOZE_DAYS); False when the alert is resolved."""
    before = event.snoozed_until.isoformat() if event.snoozed_until else None
    claimed = AlertEvent.objects.filter(pk=event.pk, resolved_at__isnull=True).update(
        snoozed_until=until, snoozed_by_name=actor.get_username()
    )
    if claimed != 1:
        return False
    _audit(actor, event, AuditAction.ALERT_SNOOZED, before, until.isoformat(), ip_address)
    return True
