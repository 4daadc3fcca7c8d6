"""The one path of every sync, whoever starts it (the Celery tasks, `manage.py sync`, "Refresh now", a
completed top-up): run the job's units for each account, then evaluate the account's alerts once. It is
where deciding (`billing.alerts`) meets delivering (`billing.notifications`): `evaluate_alerts` hands the
evaluation the outbox's notifier.

Alerts follow the jobs that change what they read: "balance" (the balance and, when due, the spending limit)
and "account" (everything, in the order balance, spending limit, usage, invoices). They run after the last
unit, so a first sync's runway and spend alerts see its usage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from billing import alerts, sync
from billing.alerts.evaluation import Change, EvaluationSummary
from billing.cloudflare import CloudflareError
from billing.figures import ledger
from billing.models import Account, SyncJob, SyncRun
from billing.notifications.notify import queue_alert

logger = logging.getLogger("billing.sync")

ALERTING_JOBS = frozenset({SyncJob.BALANCE, SyncJob.ACCOUNT})
# The jobs that change what the ledger reads (balance snapshots, usage, invoices).
LEDGER_JOBS = frozenset({SyncJob.BALANCE, SyncJob.USAGE, SyncJob.INVOICES, SyncJob.ACCOUNT})


class SyncFailed(Exception):
    """Raised by `sync_account(raise_on_error=True)` for a failure that is not a CloudflareError."""

    def __init__(self, message: str, runs: list[SyncRun], error: BaseException | None) -> None:
        super().__init__(message)
        self.runs = runs
        self.error = error


def evaluate_alerts(account: Account, now: datetime | None = None) -> list[Change]:
    """Evaluates the account's alerts (`billing.alerts`, deciding) and queues the messages they decide
    (`billing.notifications`, delivering) in the transaction of each change; returns the changes."""
    return alerts.evaluate_account(account, notify=queue_alert, now=now)


def evaluate_all_alerts(now: datetime | None = None) -> EvaluationSummary:
    """`evaluate_alerts` for every active account; one account's error is logged, the others go on."""
    return alerts.evaluate_all(notify=queue_alert, now=now)


def rebuild_ledger_after(job: str, account: Account, results: list[sync.UnitResult]) -> None:
    """Rebuilds the account's unsettled ledger days when `job` changed what they read and its main unit
    succeeded; an error is logged (the sync itself succeeded)."""
    if job not in LEDGER_JOBS or not results or not results[0].succeeded:
        return
    try:
        ledger.rebuild(account)
    except Exception:
        logger.exception("ledger rebuild failed for account %s (the sync itself succeeded)", account)


def after_units(job: str, account: Account, results: list[sync.UnitResult]) -> None:
    """What follows a job's units for one account: its ledger, then its alerts (which read the ledger)."""
    rebuild_ledger_after(job, account, results)
    evaluate_alerts_after(job, account, results)


def evaluate_alerts_after(job: str, account: Account, results: list[sync.UnitResult]) -> None:
    """Evaluates the account's alerts when `job` changed what they read and its main unit succeeded; an
    evaluation error is logged (the sync itself succeeded)."""
    if job not in ALERTING_JOBS or not results or not results[0].succeeded:
        return
    try:
        evaluate_alerts(account)
    except Exception:
        logger.exception("alert evaluation failed for account %s (the sync itself succeeded)", account)


def run(
    job: str,
    account_ids: Iterable[int],
    *,
    threads: int | None = None,
    backfill_days: int | None = None,
    stop: threading.Event | None = None,
    on_done: Callable[[Account, list[sync.UnitResult]], None] | None = None,
) -> sync.JobSummary:
    """Runs `job` for these accounts (see `sync.run_job`), each one followed by its alerts; returns the
    summary."""
    return sync.run_job(
        job,
        account_ids,
        threads=threads,
        backfill_days=backfill_days,
        stop=stop,
        on_done=on_done,
        after_account=after_units,
    )


def run_for_account(job: str, account: Account, backfill_days: int | None = None) -> list[sync.UnitResult]:
    """`job` for one account, here and now, followed by its alerts; returns the units' results."""
    results = sync.run_units(job, account, backfill_days)
    after_units(job, account, results)
    return results


def sync_account(
    account: Account, backfill_days: int | None = None, *, raise_on_error: bool = False
) -> list[SyncRun]:
    """A full sync of one account, then its alerts. Returns the runs made (a job already running for this
    account elsewhere is skipped and has no run).

    With `raise_on_error`, after every job ran, the first CloudflareError is raised again if a job failed with
    one (SyncFailed for other errors).
    """
    results = run_for_account(SyncJob.ACCOUNT, account, backfill_days)
    runs = [r.run for r in results if r.run is not None]
    errors = [r.error for r in results if r.error is not None]
    if raise_on_error and errors:
        first = next((e for e in errors if isinstance(e, CloudflareError)), None)
        if first is not None:
            raise first
        raise SyncFailed(f"sync of {account} failed: {sync.describe(errors[0])}", runs, errors[0])
    return runs
