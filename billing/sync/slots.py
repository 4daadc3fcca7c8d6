"""One sweep per interval, whatever runs it: a sweep claims its (job, slot) in the database first.

The slot of a moment is floor(now / interval) counted from the Unix epoch, so every beat process (two by
mistake, or one restarted) and every manual trigger agree on it without talking to one another. The claim is
an insert that the unique constraint of `SweepSlot` refuses for a slot already swept.

The usage sweep is spread over its interval: beat sends it every SYNC_USAGE_INTERVAL / SYNC_USAGE_SLICES
seconds, each of those slots is claimed like any other, and it syncs only the accounts of its slice (pk modulo
the number of slices), so each account is still synced once per interval, but an hour's usage calls (billed
usage, gateways, spend analytics) arrive in twelve parts instead of one burst.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import SweepSlot

logger = logging.getLogger("billing.sync")


def slot_start(now: datetime, interval: int) -> datetime:
    """The start of the slot of `interval` seconds that `now` falls in."""
    seconds = int(now.timestamp()) // max(1, interval) * max(1, interval)
    return datetime.fromtimestamp(seconds, tz=UTC)


def slot_number(start: datetime, interval: int) -> int:
    """The number of the slot of `interval` seconds that `start` falls in, counted from the Unix epoch."""
    return int(start.timestamp()) // max(1, interval)


def usage_slices() -> int:
    """How many parts the usage sweep's interval is split into (at least one)."""
    return max(1, min(settings.SYNC_USAGE_SLICES, settings.SYNC_USAGE_INTERVAL))


def usage_slot_interval() -> int:
    """Seconds between two usage sweeps, each of one slice: the usage interval over the slices."""
    return max(1, settings.SYNC_USAGE_INTERVAL // usage_slices())


def usage_slice(account_ids: list[int], start: datetime) -> list[int]:
    """The accounts the usage sweep of the slot starting at `start` syncs: those whose pk modulo the number
    of slices is that slot's place in the usage interval."""
    slices = usage_slices()
    place = slot_number(start, usage_slot_interval()) % slices
    return [pk for pk in account_ids if pk % slices == place]


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
