"""The jobs' watchdog: when no balance sweep has completed for STALL_FACTOR × SYNC_BALANCE_INTERVAL (the beat
or every worker is down), a portal-wide alert opens and goes to the operators and to the channels that take
portal alerts; while it stays open a reminder goes the same way every PORTAL_ALERT_REMINDER_HOURS; it
resolves once a sweep completes again.

It is evaluated where something is alive when the beat is not: the outbox task, and web requests (the
overview, /healthz) that read one aggregate over SyncRun. A web request that opens the alert also sends its
deliveries itself, in a thread after the commit, since the workers may be the thing that is down.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min, Subquery
from django.utils import timezone

from billing.alerts import outbox, transports
from billing.alerts.messages import AlertMessage, slack_message, webhook_body
from billing.alerts.rules import operator_emails
from billing.models import (
    Account,
    ChannelKind,
    NotificationChannel,
    OutboxState,
    PortalAlert,
    PortalAlertKind,
    SyncJob,
    SyncOutcome,
    SyncRun,
)

logger = logging.getLogger(__name__)

STALL_FACTOR = 3
SWEEP_JOB = SyncJob.BALANCE
# A sweep's runs count as completed whatever the account's outcome: a failing API is the stale-data alert's.
COMPLETED = (SyncOutcome.SUCCEEDED, SyncOutcome.FAILED)


@dataclass(frozen=True)
class SweepStatus:
    last_completed: datetime | None
    expected_every: timedelta
    stalled: bool

    @property
    def label(self) -> str:
        """ "ok", or what /healthz says is wrong."""
        if not self.stalled:
            return "ok"
        if self.last_completed is None:
            return "stalled: no balance sweep has completed yet"
        return f"stalled: no balance sweep completed since {self.last_completed:%Y-%m-%dT%H:%M:%SZ}"


def _completed_runs():
    return SyncRun.objects.filter(job=SWEEP_JOB, outcome__in=COMPLETED, finished_at__isnull=False)


def last_sweep_subquery() -> Subquery:
    """The last completed sweep's time, as an uncorrelated subquery a page adds to a query it makes anyway."""
    return Subquery(_completed_runs().order_by("-finished_at").values("finished_at")[:1])


def status_from(last_completed: datetime | None, oldest_account: datetime | None, now=None) -> SweepStatus:
    """Whether sweeps are late, given the last completed one and when the oldest active account was added
    (never completed: late only once an account has waited longer than the limit for its first sweep)."""
    now = now or timezone.now()
    every = timedelta(seconds=settings.SYNC_BALANCE_INTERVAL)
    since = last_completed or oldest_account
    return SweepStatus(last_completed, every, since is not None and now - since > every * STALL_FACTOR)


def sweep_status(now: datetime | None = None) -> SweepStatus:
    """Whether the balance sweeps are late; one query while sweeps complete."""
    last_completed = _completed_runs().aggregate(last=Max("finished_at"))["last"]
    oldest = None
    if last_completed is None:
        oldest = Account.objects.filter(is_active=True).aggregate(oldest=Min("created_at"))["oldest"]
    return status_from(last_completed, oldest, now)


def _message(alert: PortalAlert, state: str, status: SweepStatus, now: datetime) -> AlertMessage:
    base = settings.PORTAL_BASE_URL
    return AlertMessage(
        event_id=f"portal:{alert.pk}",
        kind=alert.kind,
        kind_label=PortalAlertKind(alert.kind).label,
        state=state,
        headline=(
            "Background jobs running again: balance sweeps complete"
            if state == "resolved"
            else alert.headline
        ),
        occurred_at=now.isoformat(),
        figures={
            "last_completed_sweep": status.last_completed.isoformat() if status.last_completed else None,
            "expected_every": f"{int(status.expected_every.total_seconds())} s",
        },
        links={"fix": f"{base}/", "health": f"{base}/healthz"},
        fix_label="Open the portal",
    )


def _queue(alert: PortalAlert, state: str, status: SweepStatus, now: datetime, sequence: int = 0) -> None:
    message = _message(alert, state, status, now)
    context = {"message": message, "status": status, "alert": alert}
    delivery = {"portal_alert": alert, "alert_state": state, "sequence": sequence}
    outbox.queue_email("portal_alert", context, operator_emails(), **delivery)
    for channel in NotificationChannel.objects.filter(enabled=True, portal_alerts=True, account__isnull=True):
        if channel.kind == ChannelKind.EMAIL:
            outbox.queue_email("portal_alert", context, channel.emails, channel=channel, **delivery)
        else:
            payload = slack_message(message) if channel.kind == ChannelKind.SLACK else webhook_body(message)
            outbox.queue_message(channel, payload, message.headline, template=channel.kind, **delivery)


def _headline(status: SweepStatus, *, still: bool = False) -> str:
    minutes = int(status.expected_every.total_seconds() // 60) or 1
    since = (
        f"since {status.last_completed:%Y-%m-%d %H:%M} UTC"
        if status.last_completed
        else "since the portal started"
    )
    stalled = "still stalled" if still else "stalled"
    return f"Background jobs {stalled}: no balance sweep completed {since} (expected every {minutes} min)"


def check(now: datetime | None = None, *, status: SweepStatus | None = None) -> str | None:
    """Opens, reminds of or resolves the watchdog's alert; returns "opened", "reminded", "resolved" or None
    (nothing changed)."""
    now = now or timezone.now()
    status = status or sweep_status(now)
    open_alert = PortalAlert.objects.filter(
        kind=PortalAlertKind.SWEEPS_STALLED, resolved_at__isnull=True
    ).first()
    if status.stalled and open_alert is None:
        try:
            with transaction.atomic():
                alert = PortalAlert.objects.create(
                    kind=PortalAlertKind.SWEEPS_STALLED,
                    headline=_headline(status),
                    opened_at=now,
                    last_notified_at=now,
                )
                _queue(alert, "opened", status, now)
        except IntegrityError:
            return None  # another process opened it a moment ago
        return "opened"
    if status.stalled and open_alert is not None:
        return "reminded" if _remind(open_alert, status, now) else None
    if not status.stalled and open_alert is not None:
        with transaction.atomic():
            if not PortalAlert.objects.filter(pk=open_alert.pk, resolved_at__isnull=True).update(
                resolved_at=now
            ):
                return None
            _queue(open_alert, "resolved", status, now)
        return "resolved"
    return None


def _remind(alert: PortalAlert, status: SweepStatus, now: datetime) -> bool:
    """Queues the next reminder of a still-open alert when PORTAL_ALERT_REMINDER_HOURS have passed since the
    last message (0: never); False when none is due or another process sent it first."""
    hours = settings.PORTAL_ALERT_REMINDER_HOURS
    if not hours or now - (alert.last_notified_at or alert.opened_at) < timedelta(hours=hours):
        return False
    number = alert.reminders_sent + 1
    headline = _headline(status, still=True)
    with transaction.atomic():
        claimed = PortalAlert.objects.filter(pk=alert.pk, reminders_sent=alert.reminders_sent).update(
            reminders_sent=number, last_notified_at=now, headline=headline
        )
        if not claimed:
            return False
        alert.reminders_sent, alert.last_notified_at, alert.headline = number, now, headline
        _queue(alert, "reminder", status, now, sequence=number)
    return True


def send_deliveries_of(alert_pk: int) -> int:
    """Sends the ready deliveries of one portal alert here and now (claimed as the outbox does); returns how
    many were sent."""
    sent = 0
    try:
        for pk in outbox.OutboxEmail.objects.filter(
            portal_alert=alert_pk, state=OutboxState.READY
        ).values_list("pk", flat=True):
            if outbox.claim(pk) and outbox.send_claimed(pk).state == OutboxState.SENT:
                sent += 1
    finally:
        connection.close()
    return sent


def check_from_request(status: SweepStatus) -> None:
    """The watchdog on a web request: nothing more to read while sweeps complete (the outbox task resolves
    the alert when they come back); when it opens the alert or reminds of it, the deliveries go out from a
    thread after the commit, since the workers may be what is down."""
    if not status.stalled:
        return
    try:
        change = check(status=status)
    except Exception:
        logger.exception("watchdog check failed")
        return
    if change in ("opened", "reminded"):
        alert = PortalAlert.objects.filter(
            kind=PortalAlertKind.SWEEPS_STALLED, resolved_at__isnull=True
        ).first()
        if alert is not None:
            transaction.on_commit(
                lambda: threading.Thread(target=send_deliveries_of, args=(alert.pk,), daemon=True).start()
            )


def ping_deadman() -> bool:
    """GETs DEADMAN_PING_URL (when set) after a completed sweep; False when there was none or it failed."""
    if not settings.DEADMAN_PING_URL:
        return False
    timeouts = transports.Timeouts(settings.ALERT_HTTP_CONNECT_TIMEOUT, settings.ALERT_HTTP_READ_TIMEOUT)
    try:
        transports.request("GET", settings.DEADMAN_PING_URL, timeouts=timeouts)
    except transports.TransportError as error:
        logger.warning("dead man's switch ping failed: %s", error.message)
        return False
    return True
