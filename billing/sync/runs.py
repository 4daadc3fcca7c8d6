"""Sync runs: every unit of sync work for one account is recorded in a `SyncRun` row, which is also its lock.

The row is created with outcome "running", and a partial unique constraint refuses a second running row for
the same (job, account), so two overlapping sweeps never run one account twice. A running row older than
SYNC_LOCK_TIMEOUT_SECONDS was left by a worker that died and is taken over. Units never raise: a failure is
recorded in its run and the caller goes on with the next account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from billing import clients
from billing.cloudflare import BillingClient, CloudflareError, RateLimitBudgetExceeded, RateLimitError
from billing.models import Account, SyncJob, SyncOutcome, SyncRun

logger = logging.getLogger("billing.sync")

# The jobs a beat sweeps (each over the accounts due in its slot).
SWEEP_JOBS = (SyncJob.BALANCE, SyncJob.USAGE, SyncJob.INVOICES)


def claim_run(job: str, account: Account | None) -> SyncRun | None:
    """A new running SyncRun for (job, account), or None while another live run holds that lock."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SYNC_LOCK_TIMEOUT_SECONDS)
    abandoned = SyncRun.objects.filter(
        job=job, account=account, outcome=SyncOutcome.RUNNING, started_at__lt=stale
    ).update(outcome=SyncOutcome.FAILED, finished_at=now, error="abandoned: the worker running it stopped")
    if abandoned:
        logger.warning("took over an abandoned %s lock for account %s", job, account)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(job=job, account=account, started_at=now)
    except IntegrityError:
        logger.info("%s for %s is already running; skipped", job, account)
        return None


def finish(run: SyncRun, outcome: str, error: str = "", api_calls: int = 0) -> SyncRun:
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.error = error[:4000]
    run.api_calls = api_calls
    SyncRun.objects.filter(pk=run.pk).update(
        outcome=run.outcome, finished_at=run.finished_at, error=run.error, api_calls=run.api_calls
    )
    return run


def describe(exc: BaseException) -> str:
    if isinstance(exc, CloudflareError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds after which trying again may help, or None when a retry cannot help."""
    if exc is None:
        return None
    if isinstance(exc, RateLimitError | RateLimitBudgetExceeded):
        return float(exc.retry_after or 30)
    if isinstance(exc, CloudflareError):
        return 0.0 if exc.retryable else None
    if isinstance(exc, DatabaseError):
        return 0.0  # "database is locked" and dropped connections pass
    return None


@dataclass
class UnitResult:
    """What one unit did: its run (None when skipped because another run held the lock), its error, and
    which unit it was (its job name)."""

    run: SyncRun | None
    error: BaseException | None = None
    job: str = ""

    @property
    def skipped(self) -> bool:
        return self.run is None

    @property
    def succeeded(self) -> bool:
        return self.run is not None and self.run.outcome == SyncOutcome.SUCCEEDED


def run_unit(job: str, account: Account, work: Callable[[BillingClient], None]) -> UnitResult:
    """Runs `work(client)` under the (job, account) lock and records it; never raises."""
    try:
        run = claim_run(job, account)
    except DatabaseError as exc:
        logger.warning("could not claim %s for %s: %s", job, account, exc)
        return UnitResult(None, exc, job)
    if run is None:
        return UnitResult(None, job=job)
    with clients.counting_calls() as calls:
        try:
            work(clients.client_for(account))
        except Exception as exc:
            log = logger.warning if isinstance(exc, CloudflareError) else logger.exception
            log("%s of account %s failed: %s", job, account.cloudflare_id, describe(exc))
            try:
                finish(run, SyncOutcome.FAILED, describe(exc), calls[0])
            except DatabaseError:
                logger.exception("could not record the failure of %s for %s", job, account)
            return UnitResult(run, exc, job)
    try:
        finish(run, SyncOutcome.SUCCEEDED, "", calls[0])
    except DatabaseError as exc:
        return UnitResult(run, exc, job)
    return UnitResult(run, job=job)


def text(value: object, length: int) -> str:
    return "" if value is None else str(value)[:length]
