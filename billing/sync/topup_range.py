"""Cloudflare's top-up range (`GET /topup/limits`), stored for the top-up and auto top-up forms.

Any sync of an account (`jobs.units_of`: the balance, usage, invoice and full-account jobs alike, however
they were started) fetches it after its own units when it is unknown or about a day old, so a first
`manage.py sync` already stores Cloudflare's maximum. The forms read the stored row
(`billing.limits.topup_bounds`) and never ask Cloudflare themselves. The endpoint is deprecated: a 404 or
410 keeps the last known range, is logged once, and the next fetch waits a day (`note_topup_range_withdrawn`).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.utils import timezone

from billing.cloudflare import APIStatusError, BillingClient
from billing.models import Account, SyncJob, SyncOutcome, SyncRun, TopUpRange
from billing.sync.runs import UnitResult, run_unit, text

logger = logging.getLogger("billing.sync")

# `topup/limits` is deprecated in Cloudflare's API reference: these mean it is gone, not that it failed.
WITHDRAWN_STATUSES = frozenset({404, 410})
# Cloudflare's limits change rarely: once a day keeps forms honest at one request per account per day.
REFRESH = timedelta(days=1)
# After a failed fetch the next syncs wait this long before asking again (the last known range stays in use).
RETRY = timedelta(hours=1)


def store_topup_range(
    account: Account, min_cents: int, max_cents: int, currency: str = "USD", synced_at: datetime | None = None
) -> TopUpRange:
    """Keeps Cloudflare's top-up range of this account, fetched at `synced_at` (default now)."""
    row, _ = TopUpRange.objects.update_or_create(
        account=account,
        defaults={
            "min_cents": int(min_cents),
            "max_cents": int(max_cents),
            "currency": currency,
            "synced_at": synced_at or timezone.now(),
            "withdrawn_at": None,
        },
    )
    return row


def topup_range_due(account: Account, now: datetime | None = None) -> bool:
    """Whether a sync of this account should fetch the range: never fetched, or older than a day less a
    random part of up to a fifth (so accounts added together spread their fetches over sweeps); but not within
    RETRY of a failed fetch."""
    now = now or timezone.now()
    synced_at = TopUpRange.objects.filter(account=account).values_list("synced_at", flat=True).first()
    if synced_at is not None and now - synced_at < REFRESH * random.uniform(0.8, 1.0):
        return False
    failed = SyncRun.objects.filter(
        account=account, job=SyncJob.TOPUP_RANGE, outcome=SyncOutcome.FAILED, started_at__gt=now - RETRY
    )
    return not failed.exists()


def topup_range_units(account: Account) -> list[UnitResult]:
    """The range's unit when it is due (see `topup_range_due`), else nothing."""
    if not topup_range_due(account):
        return []
    return [run_unit(SyncJob.TOPUP_RANGE, account, lambda client: _fetch_topup_range(client, account))]


def sync_topup_range(account: Account) -> SyncRun | None:
    """One `topup/limits` fetch, due or not; returns the run (None when another held its lock)."""
    return run_unit(SyncJob.TOPUP_RANGE, account, lambda client: _fetch_topup_range(client, account)).run


def _fetch_topup_range(client: BillingClient, account: Account) -> None:
    try:
        answer = client.topup.limits(account_id=account.cloudflare_id)
    except APIStatusError as exc:
        if exc.status_code not in WITHDRAWN_STATUSES:
            raise
        note_topup_range_withdrawn(account, exc.status_code)
        return
    previous = TopUpRange.objects.filter(account=account).values_list("withdrawn_at", flat=True).first()
    store_topup_range(account, answer.min_cents, answer.max_cents, text(answer.currency, 3) or "USD")
    if previous is not None:
        logger.info("topup/limits of account %s answers again: its range is stored", account.cloudflare_id)


def note_topup_range_withdrawn(account: Account, status: int, now: datetime | None = None) -> bool:
    """Records that `topup/limits` answered `status` (404 or 410) for this account: the last known range
    stays, and the next fetch waits a day. Logs it the first time only (until the endpoint answers again);
    returns whether this was that first time."""
    now = now or timezone.now()
    row, created = TopUpRange.objects.get_or_create(
        account=account, defaults={"synced_at": now, "withdrawn_at": now}
    )
    # Claimed with a conditional update, so the warning is written once per withdrawal.
    still_answering = TopUpRange.objects.filter(pk=row.pk, withdrawn_at__isnull=True)
    first = created or bool(still_answering.update(withdrawn_at=now, synced_at=now))
    if not first:
        TopUpRange.objects.filter(pk=row.pk).update(synced_at=now)
        return False
    kept = (
        f"keeping the last known range ({row.min_cents}–{row.max_cents} cents)"
        if row.min_cents is not None and row.max_cents is not None
        else "no range was ever fetched: the reference's minimum and the portal's maximum apply"
    )
    logger.warning(
        "Cloudflare answered HTTP %s to topup/limits (deprecated) for account %s; %s. "
        "Asked again daily; not logged again until it answers.",
        status,
        account.cloudflare_id,
        kept,
    )
    return True
