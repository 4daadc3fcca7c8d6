"""One sweep per interval, whatever runs it: a sweep claims its (job, slot) in the database first.

The slot of a moment is floor(now / interval) counted from the Unix epoch, so every beat process (two by
mistake, or one restarted) and every manual trigger agree on it without talking to one another. The claim is
an insert that the unique constraint of `SweepSlot` refuses for a slot already swept.

The usage and invoice sweeps are spread over their intervals: beat sends each every interval / its slices
seconds (SYNC_USAGE_SLICES, SYNC_INVOICES_SLICES), each of those slots is claimed like any other, and it syncs
only the accounts of its slice (pk modulo the number of slices), so each account is still synced once per
interval, but an hour's usage calls (billed usage, gateways, spend analytics) arrive in twelve parts and six
hours' invoice calls in seventy-two, instead of one burst each.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.figures.gateway_spend import floor_hour
from billing.models import SweepSlot, SyncJob

logger = logging.getLogger("billing.sync")


def slot_start(now: datetime, interval: int) -> datetime:
    """The start of the slot of `interval` seconds that `now` falls in."""
    seconds = int(now.timestamp()) // max(1, interval) * max(1, interval)
    return datetime.fromtimestamp(seconds, tz=UTC)


def floor_day(moment: datetime) -> datetime:
    """The start of the UTC day `moment` falls in."""
    return floor_hour(moment).replace(hour=0)


def slot_number(start: datetime, interval: int) -> int:
    """The number of the slot of `interval` seconds that `start` falls in, counted from the Unix epoch."""
    return int(start.timestamp()) // max(1, interval)


# The sliced sweeps: job -> (its interval setting, its slices setting).
SLICED: dict[str, tuple[str, str]] = {
    SyncJob.USAGE: ("SYNC_USAGE_INTERVAL", "SYNC_USAGE_SLICES"),
    SyncJob.INVOICES: ("SYNC_INVOICES_INTERVAL", "SYNC_INVOICES_SLICES"),
}


def slices(job: str) -> int:
    """How many parts the job's interval is split into (at least one; one for a job not sliced)."""
    if job not in SLICED:
        return 1
    interval, count = (getattr(settings, name) for name in SLICED[job])
    return max(1, min(count, interval))


def slot_interval(job: str) -> int:
    """Seconds between two sweeps of a sliced job, each of one slice: its interval over its slices."""
    return max(1, getattr(settings, SLICED[job][0]) // slices(job))


def job_slice(job: str, account_ids: list[int], start: datetime) -> list[int]:
    """The accounts the sweep of `job` in the slot starting at `start` syncs: those whose pk modulo the number
    of slices is that slot's place in the job's interval."""
    count = slices(job)
    place = slot_number(start, slot_interval(job)) % count
    return [pk for pk in account_ids if pk % count == place]


def claim_slot(job: str, interval: int, now: datetime | None = None) -> datetime | None:
    """Claims this slot's sweep of `job`: its start, or None when the slot was swept already (the caller then
    sends nothing)."""
    now = now or timezone.now()
    start = slot_start(now, interval)
    try:
        with transaction.atomic():
            SweepSlot.objects.create(job=job, slot_start=start, claimed_at=now)
    except IntegrityError:
        logger.info("%s sweep: already swept this slot (%s, every %d s); nothing sent", job, start, interval)
        return None
    return start


def forget_slots_before(when: datetime) -> int:
    """Deletes the claims of slots that started before `when` (retention); returns how many."""
    deleted, _ = SweepSlot.objects.filter(slot_start__lt=when).delete()
    return deleted
