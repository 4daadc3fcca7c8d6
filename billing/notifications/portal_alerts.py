"""Delivering the portal-wide alerts the jobs' watchdog (`billing.alerts.watchdog`) decides: each message is
emailed to the operators and sent to every portal-wide channel that takes portal alerts; and the dead man's
switch ping after a completed sweep.

A web request that opens the alert (or reminds of it) also sends its deliveries itself, in a thread after the
commit, since the workers may be the thing that is down.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TypedDict

from django.conf import settings
from django.db import connection, transaction

from billing.alerts import watchdog
from billing.alerts.kinds import PORTAL_KINDS
from billing.alerts.rules import operator_emails
from billing.alerts.watchdog import PortalNotice, SweepStatus
from billing.models import (
    ChannelKind,
    Delivery,
    DeliveryState,
    NotificationChannel,
    PortalAlert,
    PortalAlertKind,
)
from billing.notifications import channels, outbox, transports
from billing.notifications.messages import AlertMessage, figure_values, slack_message, webhook_body

logger = logging.getLogger(__name__)


def _message(alert: PortalAlert, state: str, status: SweepStatus, now: datetime) -> AlertMessage:
    """The channel-neutral message of a portal alert: its kind's figures, read from the sweeps' status."""
    base, kind = settings.PORTAL_BASE_URL, PORTAL_KINDS[alert.kind]
    return AlertMessage(
        event_id=f"portal:{alert.pk}",
        kind=alert.kind,
        kind_label=kind.label,
        state=state,
        headline=kind.resolved_headline if state == "resolved" else alert.headline,
        occurred_at=now.isoformat(),
        figures=figure_values((figure, (status,)) for figure in kind.figures),
        links={"fix": f"{base}/", "health": f"{base}/healthz"},
        fix_label=kind.fix_words,
    )


class _PortalDelivery(TypedDict):
    portal_alert: PortalAlert
    alert_state: str
    sequence: int


def queue_portal_alert(notice: PortalNotice) -> None:
    """Queues the operators' email and a delivery per portal-alert channel for one state of the alert; the
    notifier `watchdog.check` is given. Call it inside the transaction that recorded the change."""
    alert, state = notice.alert, notice.state
    message = _message(alert, state, notice.status, notice.now)
    context = {"message": message, "status": notice.status, "alert": alert}
    delivery: _PortalDelivery = {"portal_alert": alert, "alert_state": state, "sequence": notice.sequence}
    outbox.queue_email("portal_alert", context, operator_emails(), **delivery)
    for channel in NotificationChannel.objects.filter(enabled=True, portal_alerts=True, account__isnull=True):
        if channel.kind == ChannelKind.EMAIL:
            outbox.queue_email("portal_alert", context, channel.emails, channel=channel, **delivery)
        else:
            payload = slack_message(message) if channel.kind == ChannelKind.SLACK else webhook_body(message)
            outbox.queue_message(channel, payload, message.headline, template=channel.kind, **delivery)


def check_sweeps(now: datetime | None = None, *, status: SweepStatus | None = None) -> str | None:
    """The watchdog's check (`billing.alerts.watchdog.check`) with its messages queued here; returns what
    changed ("opened", "reminded", "resolved") or None."""
    return watchdog.check(notify=queue_portal_alert, now=now, status=status)


def send_deliveries_of(alert_pk: int) -> int:
    """Sends the ready deliveries of one portal alert here and now (claimed as the outbox does); returns how
    many were sent."""
    sent = 0
    try:
        for pk in Delivery.objects.filter(portal_alert=alert_pk, state=DeliveryState.READY).values_list(
            "pk", flat=True
        ):
            if outbox.claim(pk) and outbox.send_claimed(pk).state == DeliveryState.SENT:
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
        change = check_sweeps(status=status)
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
    try:
        # The operator's own setting, not an admin's input: any address it names may be pinged.
        transports.request("GET", settings.DEADMAN_PING_URL, timeouts=channels.timeouts(), allow_private=True)
    except transports.TransportError as error:
        logger.warning("dead man's switch ping failed: %s", error.message)
        return False
    return True
