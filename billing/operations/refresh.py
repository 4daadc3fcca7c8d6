""" "Refresh now": a full sync of one account, queued for a worker and followed by the pages.

The request only writes a "refresh" SyncRun in the state "queued" and an audit entry ("queued"), and sends
`billing.tasks.sync_account` once the transaction commits; it holds no sync lock and never waits on
Cloudflare. The worker moves the run to "running", syncs the account through `billing.pipeline` and finishes
the run as succeeded or failed, which the account pages show (reloading themselves until then).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import signature
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import audit, pipeline, sync
from billing.models import Account, AuditAction, AuditOutcome, SyncJob, SyncOutcome, SyncRun

logger = logging.getLogger("billing.operations")

# The task that runs a queued refresh, by name: tasks import operations, never the other way round.
SYNC_ACCOUNT_TASK = "billing.tasks.sync_account"
OPEN = (SyncOutcome.QUEUED, SyncOutcome.RUNNING)
# The session key of the refreshes a person asked for: only they are told when one has finished.
REFRESHES_ASKED = "refreshes_asked"


def latest_refresh(account: Account) -> SyncRun | None:
    """The account's last "Refresh now" run, or None."""
    return SyncRun.objects.filter(account=account, job=SyncJob.REFRESH).order_by("-started_at", "-id").first()


def is_waiting(run: SyncRun | None, now: datetime | None = None) -> bool:
    """Whether this refresh is queued or running and not abandoned (older than SYNC_LOCK_TIMEOUT_SECONDS)."""
    if run is None or run.outcome not in OPEN:
        return False
    now = now or timezone.now()
    return now - run.started_at < timedelta(seconds=settings.SYNC_LOCK_TIMEOUT_SECONDS)


def queue_refresh(
    account: Account, actor: audit.Actor, *, ip_address: str | None = None
) -> tuple[SyncRun, bool]:
    """Queue a full sync of the account; returns (its run, True), or (the refresh already waiting, False)."""
    waiting = latest_refresh(account)
    if waiting is not None and is_waiting(waiting):
        return waiting, False
    with transaction.atomic():
        run = SyncRun.objects.create(
            job=SyncJob.REFRESH, account=account, started_at=timezone.now(), outcome=SyncOutcome.QUEUED
        )
        audit.record(
            actor=actor,
            account=account,
            action=AuditAction.ACCOUNT_REFRESH,
            outcome=AuditOutcome.QUEUED,
            parameters={"sync_run_id": run.pk},
            ip_address=ip_address,
        )
        transaction.on_commit(lambda: _send(account.pk, run.pk))
    return run, True


def _send(account_id: int, run_id: int) -> None:
    """Sends the queued refresh to the workers; if the broker cannot take it, the run says so at once."""
    task = signature(SYNC_ACCOUNT_TASK, args=(account_id,), kwargs={"refresh_run_id": run_id})
    try:
        task.delay()
    except Exception as exc:
        logger.exception("could not queue the refresh %s", run_id)
        error = f"The refresh could not be queued ({type(exc).__name__}); try again in a moment."
        SyncRun.objects.filter(pk=run_id, outcome=SyncOutcome.QUEUED).update(
            outcome=SyncOutcome.FAILED, finished_at=timezone.now(), error=error
        )


def run_refresh(run_id: int) -> SyncRun | None:
    """Runs a queued refresh (the worker's side): a full sync, then the run finished with its outcome.
    Returns the finished run, or None when it was not queued any more (taken, or already run)."""
    try:
        claimed = SyncRun.objects.filter(pk=run_id, outcome=SyncOutcome.QUEUED).update(
            outcome=SyncOutcome.RUNNING, started_at=timezone.now()
        )
    except IntegrityError:
        # Another refresh of this account is running right now: this one would only repeat it.
        SyncRun.objects.filter(pk=run_id, outcome=SyncOutcome.QUEUED).update(
            outcome=SyncOutcome.SKIPPED, finished_at=timezone.now(), error="another refresh was running"
        )
        return None
    if not claimed:
        return None
    run = SyncRun.objects.select_related("account").get(pk=run_id)
    summary = pipeline.run(SyncJob.ACCOUNT, [run.account_id], threads=1)
    errors = [f"{unit}: {error}" for unit, error in summary.unit_errors()]
    outcome = SyncOutcome.FAILED if errors else SyncOutcome.SUCCEEDED
    return sync.finish(run, outcome, " ".join(errors), summary.api_calls)
