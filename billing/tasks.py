"""Celery tasks: thin wrappers, scheduled by beat (see settings), over `billing.pipeline` (sync, then alerts),
`billing.operations` (top-up reconciliation), `billing.sync` (retention), `billing.alerts` (deciding) and
`billing.notifications` (delivering).

A sweep (`sweep_balances`, `sweep_usage`, `sweep_invoices`, registered under their first names
`billing.tasks.sync_balances` … so that queued messages still run) first claims its (job, slot) row
(`sync.claim_slot`), so it runs once per slot however many beats send it; it then lists the accounts the slot
is due to send (the usage sweep: one slice of them; the balance sweep: the accounts not known healthy, and
half of the healthy ones) and sends one `sync_chunk` task per SYNC_CHUNK_SIZE accounts, to the queue the sweep
itself came from, so every worker on that queue shares the work; each chunk runs its accounts on SYNC_THREADS
threads.
Tasks take ids, ack late (a worker that dies mid-task leaves its message to be delivered again), and have
time limits. Accounts that failed with a transient error (timeouts, 429, 5xx, a locked database) are retried
by the chunk with backoff, the others are
recorded and left for the next sweep.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict
from typing import Any, Literal, TypedDict

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import DatabaseError

from billing import operations, pipeline, sync
from billing.accounts import ensure_declared_accounts
from billing.models import SyncJob
from billing.notifications import digests, outbox, portal_alerts

logger = logging.getLogger(__name__)

CHUNK_MAX_RETRIES = 3


def _queue_of(task: Task[Any, Any]) -> str | None:
    """The queue the running task was taken from (its routing key on the default exchange)."""
    info = task.request.delivery_info or {}
    return info.get("routing_key") or None


def _fan_out(
    task: Task[Any, Any],
    job: str,
    backfill_days: int | None = None,
    account_ids: list[int] | None = None,
    spread: float = 0.0,
) -> int:
    """Sends `job` in chunks of SYNC_CHUNK_SIZE accounts; chunk i waits i / chunks of `spread` seconds, so a
    sweep's requests reach Cloudflare at an even pace over its slot rather than all at its start."""
    ids = sync.active_account_ids() if account_ids is None else account_ids
    chunks = sync.chunked(ids, settings.SYNC_CHUNK_SIZE)
    queue = _queue_of(task)
    for index, account_ids in enumerate(chunks):
        delay = chunk_delay(index, len(chunks), spread)
        # celery-types declares queue and countdown without None, which is celery's "unset" for both.
        sync_chunk.apply_async(args=(job, account_ids, backfill_days), queue=queue, countdown=delay or None)  # type: ignore[arg-type]
    logger.info("%s sweep: %d chunks sent over %.0f s", job, len(chunks), spread)
    return len(chunks)


def chunk_delay(index: int, chunks: int, spread: float) -> float:
    """Seconds chunk `index` of `chunks` waits: evenly over `spread`, the first at once."""
    return round(spread * index / chunks, 3) if chunks > 1 and spread > 0 else 0.0


class _SweepOptions(TypedDict):
    bind: Literal[True]
    acks_late: bool
    soft_time_limit: int
    time_limit: int
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: bool
    max_retries: int


_SWEEP: _SweepOptions = {
    "bind": True,
    "acks_late": True,
    "soft_time_limit": 60,
    "time_limit": 90,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "max_retries": 3,
}


def _sweep(task: Task[Any, Any], job: str, interval: int) -> int:
    """Fans `job` out once per slot of `interval` seconds: a second beat, a restarted beat or a manual trigger
    in a slot already swept sends nothing (and logs "already swept this slot"). Only the accounts the slot
    is due to send go (`sync.sweep_account_ids`: the usage and invoice slices, the balances due), their
    chunks spread over SYNC_SWEEP_SPREAD of the slot. Returns chunks sent."""
    start = sync.claim_slot(job, interval)
    if start is None:
        return 0
    spread = interval * min(max(settings.SYNC_SWEEP_SPREAD, 0.0), 1.0)
    return _fan_out(task, job, account_ids=sync.sweep_account_ids(job, start), spread=spread)


@shared_task(name="billing.tasks.sync_balances", **_SWEEP)
def sweep_balances(self) -> int:
    """Balance, auto top-up config (one API call per account) and, when due, the spending limit."""
    return _sweep(self, SyncJob.BALANCE, settings.SYNC_BALANCE_INTERVAL)


@shared_task(name="billing.tasks.sync_usage", **_SWEEP)
def sweep_usage(self) -> int:
    """Usage, gateways when due and spend analytics of one slice of the accounts (each hourly)."""
    return _sweep(self, SyncJob.USAGE, sync.slot_interval(SyncJob.USAGE))


@shared_task(name="billing.tasks.sync_invoices", **_SWEEP)
def sweep_invoices(self) -> int:
    """Invoices and the invoice preview of one slice of the accounts (each every SYNC_INVOICES_INTERVAL)."""
    return _sweep(self, SyncJob.INVOICES, sync.slot_interval(SyncJob.INVOICES))


@shared_task(name="billing.tasks.sync_all", **_SWEEP)
def sync_all(self, backfill_days: int | None = None) -> int:
    """Every job for every account (by hand, e.g. after adding accounts)."""
    return _fan_out(self, SyncJob.ACCOUNT, backfill_days)


@shared_task(
    name="billing.tasks.sync_chunk",
    bind=True,
    acks_late=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    max_retries=CHUNK_MAX_RETRIES,
)
def sync_chunk(self, job: str, account_ids: list[int], backfill_days: int | None = None) -> dict[str, Any]:
    """Runs `job` for these accounts; retries the transiently failed ones with exponential backoff."""
    summary = pipeline.run(job, account_ids, backfill_days=backfill_days)
    if job == SyncJob.BALANCE:
        portal_alerts.ping_deadman()
    if summary.retry and self.request.retries < CHUNK_MAX_RETRIES:
        backoff = 15 * 2**self.request.retries
        countdown = max(summary.retry_after, backoff) + random.uniform(0, backoff / 2)
        logger.info("%s: retrying %d accounts in %.0f s", job, len(summary.retry), countdown)
        raise self.retry(args=(job, summary.retry, backfill_days), countdown=countdown)
    return {
        "job": job,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "api_calls": summary.api_calls,
    }


@shared_task(name="billing.tasks.sync_account", acks_late=True, soft_time_limit=240, time_limit=300)
def sync_account(account_id: int, backfill_days: int | None = None, refresh_run_id: int | None = None) -> int:
    """A full sync of one account in the background; returns 1 when its balance sync succeeded. With
    `refresh_run_id` it runs that queued "Refresh now" (and records its outcome there)."""
    if refresh_run_id is not None:
        run = operations.run_refresh(refresh_run_id)
        return int(run is not None and run.outcome == "succeeded")
    summary = pipeline.run(SyncJob.ACCOUNT, [account_id], backfill_days=backfill_days, threads=1)
    return summary.succeeded


@shared_task(name="billing.tasks.follow_topup", acks_late=True, soft_time_limit=50, time_limit=60)
def follow_topup(topup_id: int, step: int) -> bool:
    return operations.follow_topup(topup_id, step)


@shared_task(name="billing.tasks.poll_pending_topups", acks_late=True, soft_time_limit=50, time_limit=60)
def poll_pending_topups() -> int:
    # The writes whose answer was lost are read about by the same periodic job.
    return operations.poll_due_topups() + operations.settle_unknown_writes()


@shared_task(name="billing.tasks.settle_write", acks_late=True, soft_time_limit=50, time_limit=60)
def settle_write(intent_id: int) -> bool:
    return operations.settle_write(intent_id)


@shared_task(name="billing.tasks.apply_retention", acks_late=True, soft_time_limit=1800, time_limit=1900)
def apply_retention() -> dict[str, int]:
    return sync.apply_retention()


@shared_task(name="billing.tasks.evaluate_alerts", soft_time_limit=240, time_limit=300)
def evaluate_alerts() -> dict[str, Any]:
    return asdict(pipeline.evaluate_all_alerts())


@shared_task(name="billing.tasks.send_outbox", soft_time_limit=240, time_limit=300)
def send_outbox() -> dict[str, Any]:
    # The watchdog runs here too: the outbox task outlives a stuck sweep queue.
    portal_alerts.check_sweeps()
    return asdict(outbox.send_outbox())


@shared_task(name="billing.tasks.send_digests", soft_time_limit=240, time_limit=300)
def send_digests() -> int:
    """Queues the digests due now (each period once; the outbox delivers them)."""
    return digests.send_due_digests()


@worker_ready.connect
def _create_declared_accounts(**kwargs: object) -> None:
    # Declared accounts exist before the first sweep, even where this host never ran migrate.
    try:
        ensure_declared_accounts()
    except Exception:
        logger.exception("could not create the accounts declared in CLOUDFLARE_ACCOUNT_IDS")
