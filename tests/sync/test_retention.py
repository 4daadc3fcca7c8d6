"""Retention (`billing.sync.retention`, the apply_retention task): old snapshots thinned, old runs gone."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing import sync, tasks
from billing.models import BalanceSnapshot, SyncJob, SyncOutcome, SyncRun

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def snapshot_at(account, moment: datetime) -> BalanceSnapshot:
    return BalanceSnapshot.objects.create(account=account, taken_at=moment, balance=Decimal(10))


def run_at(account, job: SyncJob, moment: datetime, outcome=SyncOutcome.SUCCEEDED) -> SyncRun:
    return SyncRun.objects.create(
        job=job, account=account, started_at=moment, finished_at=moment, outcome=outcome
    )


def test_snapshots_older_than_a_month_keep_the_last_of_each_hour(account):
    hour = NOW - timedelta(days=40)
    old = [snapshot_at(account, hour + timedelta(minutes=m)) for m in (0, 5, 55)]
    recent = [snapshot_at(account, NOW - timedelta(minutes=m)) for m in (5, 10)]

    deleted = sync.apply_retention(now=NOW)

    assert deleted["hourly"] == 2
    kept = set(BalanceSnapshot.objects.values_list("pk", flat=True))
    assert kept == {old[-1].pk, *(s.pk for s in recent)}


def test_old_runs_go_but_the_last_success_of_each_job_stays(account):
    old = NOW - timedelta(days=60)
    stale = run_at(account, SyncJob.BALANCE, old)
    last = run_at(account, SyncJob.BALANCE, old + timedelta(minutes=5))
    failed = run_at(account, SyncJob.USAGE, old, outcome=SyncOutcome.FAILED)

    deleted = sync.apply_retention(now=NOW)

    assert deleted["sync_runs"] == 2
    remaining = set(SyncRun.objects.exclude(job=SyncJob.RETENTION).values_list("pk", flat=True))
    assert last.pk in remaining and not {stale.pk, failed.pk} & remaining
    record = SyncRun.objects.get(job=SyncJob.RETENTION)
    assert "sync_runs: 2 deleted" in record.error


def test_the_task_runs_the_same_retention(account):
    snapshot_at(account, NOW - timedelta(days=400))
    assert tasks.apply_retention.apply().get()["sync_runs"] == 0
    assert SyncRun.objects.filter(job=SyncJob.RETENTION, outcome=SyncOutcome.SUCCEEDED).count() == 1
