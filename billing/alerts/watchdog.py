"""The jobs' watchdog, deciding: when no balance sweep has completed for STALL_FACTOR × SYNC_BALANCE_INTERVAL
(the beat or every worker is down), a portal-wide alert opens; while it stays open a reminder is due every
PORTAL_ALERT_REMINDER_HOURS; it resolves once a sweep completes again. Each of these is one `PortalNotice`
handed to the caller's `notify`, which delivers it to the operators and to the channels that take portal
alerts.

It is evaluated where something is alive when the beat is not: the outbox task, and web requests (the
overview, /healthz) that read one aggregate over SyncRun.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from billing.models import Account, PortalAlert, PortalAlertKind, SyncJob, SyncOutcome, SyncRun

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


def last_completed_sweep() -> datetime | None:
    """When the last balance sweep completed (None: never)."""
    return _completed_runs().aggregate(last=Max("finished_at"))["last"]


def status_from(last_completed: datetime | None, oldest_account: datetime | None, now=None) -> SweepStatus:
    """Whether sweeps are late, given the last completed one and when the oldest active account was added
    (never completed: late only once an account has waited longer than the limit for its first sweep)."""
    now = now or timezone.now()
    every = timedelta(seconds=settings.SYNC_BALANCE_INTERVAL)
    since = last_completed or oldest_account
    return SweepStatus(last_completed, every, since is not None and now - since > every * STALL_FACTOR)


def sweep_status(now: datetime | None = None) -> SweepStatus:
    """Whether the balance sweeps are late; one query while sweeps complete."""
    last_completed = last_completed_sweep()
    oldest = None
    if last_completed is None:
        oldest = Account.objects.filter(is_active=True).aggregate(oldest=Min("created_at"))["oldest"]
    return status_from(last_completed, oldest, now)


@dataclass(frozen=True)
class PortalNotice:
    """One message about the watchdog's alert: its state ("opened", "reminder" number `sequence`,
    "resolved") and the sweeps' status it is written from."""

    alert: PortalAlert
    state: str
    status: SweepStatus
    now: datetime
    sequence: int = 0


# Queues a PortalNotice's deliveries in the caller's transaction.
NotifyPortal = Callable[[PortalNotice], object]


def _headline(status: SweepStatus, *, still: bool = False) -> str:
    minutes = int(status.expected_every.total_seconds() // 60) or 1
    since = (
        f"since {status.last_completed:%Y-%m-%d %H:%M} UTC"
        if status.last_completed
        else "since the portal started"
    )
    stalled = "still stalled" if still else "stalled"
    return f"Background jobs {stalled}: no balance sweep completed {since} (expected every {minutes} min)"


def check(
    *, notify: NotifyPortal, now: datetime | None = None, status: SweepStatus | None = None
) -> str | None:
    """Opens, reminds of or resolves the watchdog's alert, handing each message to `notify` inside the
    transaction of its change; returns "opened", "reminded", "resolved" or None (nothing changed)."""
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
                notify(PortalNotice(alert, "opened", status, now))
        except IntegrityError:
            return None  # another process opened it a moment ago
        return "opened"
    if status.stalled and open_alert is not None:
        return "reminded" if _remind(notify, open_alert, status, now) else None
    if not status.stalled and open_alert is not None:
        with transaction.atomic():
            if not PortalAlert.objects.filter(pk=open_alert.pk, resolved_at__isnull=True).update(
                resolved_at=now
            ):
                return None
            notify(PortalNotice(open_alert, "resolved", status, now))
        return "resolved"
    return None


def _remind(notify: NotifyPortal, alert: PortalAlert, status: SweepStatus, now: datetime) -> bool:
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
        notify(PortalNotice(alert, "reminder", status, now, sequence=number))
    return True
