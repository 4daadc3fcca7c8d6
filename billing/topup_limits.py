"""Cloudflare's top-up range (`GET /topup/limits`) as last fetched, for the forms to use without an API call.

The balance job fetches it about once a day per account (`due`); a top-up submit only reads it. Kept in the
cache (shared by every process when REDIS_URL is set) for a week, so a few failed fetches leave the last
known range in place; without one the reference's minimum and the portal's maximum apply.
"""

from __future__ import annotations

import random

from django.core.cache import cache
from django.utils import timezone

from billing.limits import TOPUP_MIN_CENTS, Bounds, portal_max_cents
from billing.models import Account

# Cloudflare's limits change rarely: once a day keeps forms honest at one request per account per day.
REFRESH_SECONDS = 24 * 3600
KEEP_SECONDS = 7 * 24 * 3600


def _key(account: Account) -> str:
    return f"topup-limits:{account.cloudflare_id}"


def remember(account: Account, min_cents: int, max_cents: int, fetched_at: float | None = None) -> None:
    """Keep Cloudflare's top-up range of this account, fetched at `fetched_at` (Unix seconds, default now)."""
    fetched = timezone.now().timestamp() if fetched_at is None else fetched_at
    cache.set(_key(account), (int(min_cents), int(max_cents), fetched), KEEP_SECONDS)


def known(account: Account) -> tuple[int, int, float] | None:
    """(min_cents, max_cents, fetched_at) as last fetched, or None."""
    value = cache.get(_key(account))
    if not value:
        return None
    if len(value) == 2:  # written before the fetch time was kept
        return (value[0], value[1], 0.0)
    return tuple(value)


def due(account: Account, now: float | None = None) -> bool:
    """Whether the balance job should fetch the range again: never fetched, or older than a day less a random
    part of up to a fifth (so accounts added together spread their fetches over sweeps)."""
    value = known(account)
    if value is None:
        return True
    now = timezone.now().timestamp() if now is None else now  # the clock the sweeps' other choices read
    return now - value[2] >= REFRESH_SECONDS * random.uniform(0.8, 1.0)


def bounds(account: Account) -> Bounds:
    """The allowed top-up range in cents: Cloudflare's last known limits, else the reference minimum; never
    above the portal's own maximum (TOPUP_MAX_DOLLARS)."""
    value = known(account)
    low, high = (value[0], value[1]) if value else (TOPUP_MIN_CENTS, None)
    ceiling = portal_max_cents()
    high = min(high, ceiling) if high else ceiling
    return Bounds(min_cents=low, max_cents=max(high, low))
