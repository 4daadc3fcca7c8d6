"""Digests: a daily or weekly summary email per person, of every account they may see.

A daily digest covers one local day (midnight to midnight in the person's time zone) and is sent at their
chosen hour the day after; a weekly one covers Monday to Sunday and is sent at that hour on the Monday after.
Every DIGEST_INTERVAL the beat task looks, for each person, at the **latest** period whose send time has
passed (since they chose, or joined): a period with no `DigestRun` row yet is sent, by inserting its row and
queueing its email (the outbox, with its retries) in one transaction. The insert is the claim: however many
beats and workers look, a period is sent once; after a downtime the latest period is caught up once, and the
ones before it are never sent (one catch-up, not a backlog).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import AccountAccess, Delivery, DigestFrequency, DigestRun, NotificationSettings, Role
from billing.notifications import outbox
from billing.notifications.digest_content import digest_context
from billing.permissions import accounts_for

logger = logging.getLogger(__name__)

PERIOD_DAYS: dict[str, int] = {DigestFrequency.DAILY: 1, DigestFrequency.WEEKLY: 7}


@dataclass(frozen=True)
class Preferences:
    frequency: str
    hour: int
    time_zone: str
    chosen: bool = False  # False: the defaults, the person never saved the page
    # When this choice took effect (saved, or the person joined): earlier periods are not theirs to catch up.
    since: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return zone_or_default(self.time_zone)


def zone_or_default(name: str) -> ZoneInfo:
    """The IANA zone `name`, else TIME_ZONE (for a zone the system no longer knows)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _manages_anything(user) -> bool:
    return (
        user.is_superuser
        or AccountAccess.objects.filter(user=user, role__in=[Role.MANAGER, Role.ADMIN]).exists()
    )


def default_preferences(user) -> Preferences:
    """Off for viewers; DIGEST_MANAGER_DEFAULT for managers, admins and superusers; at DIGEST_DEFAULT_HOUR in
    TIME_ZONE."""
    frequency = settings.DIGEST_MANAGER_DEFAULT if _manages_anything(user) else DigestFrequency.OFF
    return Preferences(frequency, settings.DIGEST_DEFAULT_HOUR, settings.TIME_ZONE, since=user.date_joined)


def preferences_for(user) -> Preferences:
    row = NotificationSettings.objects.filter(user=user).first()
    if row is None:
        return default_preferences(user)
    return Preferences(
        row.digest_frequency, row.digest_hour, row.time_zone, chosen=True, since=row.updated_at
    )


def save_preferences(user, frequency: str, hour: int, time_zone: str) -> Preferences:
    NotificationSettings.objects.update_or_create(
        user=user, defaults={"digest_frequency": frequency, "digest_hour": hour, "time_zone": time_zone}
    )
    return preferences_for(user)


# --- the schedule ------------------------------------------------------------------------------------------
def send_time(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


def due_period(prefs: Preferences, now: datetime) -> date | None:
    """The first day of the latest period of `prefs.frequency` whose send time is at or before `now` (and not
    before the choice took effect: someone who chose a digest at 15:00 gets the next one, not yesterday's)."""
    length = PERIOD_DAYS.get(prefs.frequency)
    if length is None:
        return None
    zone = prefs.zone
    today = now.astimezone(zone).date()
    # The day the latest period's digest is sent: today (or this Monday), else the one before.
    sending = today if length == 1 else today - timedelta(days=today.weekday())
    if now < send_time(sending, prefs.hour, zone):
        sending -= timedelta(days=length)
    if prefs.since is not None and send_time(sending, prefs.hour, zone) < prefs.since:
        return None
    return sending - timedelta(days=length)


def period_bounds(frequency: str, first_day: date, zone: ZoneInfo) -> tuple[datetime, datetime, datetime]:
    """(start, end, the previous period's start) of a period, aware, local midnights."""
    length = timedelta(days=PERIOD_DAYS[frequency])
    midnight = time(0)
    return (
        datetime.combine(first_day, midnight, tzinfo=zone),
        datetime.combine(first_day + length, midnight, tzinfo=zone),
        datetime.combine(first_day - length, midnight, tzinfo=zone),
    )


# --- sending -----------------------------------------------------------------------------------------------
def send_digest(user, prefs: Preferences, first_day: date, now: datetime) -> Delivery | None:
    """Claims the period (inserts its DigestRun) and queues its email in one transaction; None when the period
    was claimed already, or the person sees no account."""
    accounts = list(accounts_for(user).select_related("summary", "spending_limit", "auto_topup"))
    if not accounts or not user.email:
        return None
    start, end, previous = period_bounds(prefs.frequency, first_day, prefs.zone)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = DigestRun.objects.create(user=user, period_kind=prefs.frequency, period_start=first_day)
        except IntegrityError:
            return None  # another beat or worker sent this period
        context = digest_context(user, accounts, prefs.frequency, (previous, start, end), now)
        email = outbox.queue_email("digest", context, [user.email])
        DigestRun.objects.filter(pk=run.pk).update(email=email)
    return email


def send_due_digest(user, now: datetime) -> Delivery | None:
    prefs = preferences_for(user)
    first_day = due_period(prefs, now)
    if first_day is None:
        return None
    if DigestRun.objects.filter(user=user, period_kind=prefs.frequency, period_start=first_day).exists():
        return None
    return send_digest(user, prefs, first_day, now)


def send_due_digests(now: datetime | None = None) -> int:
    """Queues every digest due now; returns how many. One person's failure is logged, the others go on."""
    now = now or timezone.now()
    sent = 0
    for user in get_user_model().objects.filter(is_active=True).exclude(email="").order_by("pk"):
        try:
            sent += send_due_digest(user, now) is not None
        except Exception:
            logger.exception("digest failed for user %s", user.pk)
    return sent
