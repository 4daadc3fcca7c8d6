"""One sweep per interval, whatever runs it: a sweep claims its (job, slot) in the database first.

The slot of a moment is floor(now / interval) counted from the Unix epoch, so every beat process (two by
mistake, or one restarted) and every manual trigger agree on it without talking to one another. The claim is
an insert that the unique constraint of `SweepSlot` refuses for a slot already swept.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import SweepSlot

logger = logging.getLogger("billing.sync")


def slot_start(now: datetime, interval: int) -> datetime:
    """The start of the slot of `interval` seconds that `now` falls in."""
    seconds = int(now.timestamp()) // max(1, interval) * max(1, interval)
    return datetime.fromtimestamp(seconds, tz=UTC)


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
