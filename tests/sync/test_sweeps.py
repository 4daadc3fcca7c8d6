"""One sweep per interval slot, and honest summaries of what a job did, unit by unit."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing import sync, tasks
from billing.models import Account, SweepSlot, SyncJob, SyncOutcome, SyncRun, TopUpRange
from billing.sync import slots, topup_range

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_invoice_slice(settings):
    settings.SYNC_INVOICES_SLICES = 1  # every account in each invoice sweep (slices: test_schedule.py)


@pytest.fixture
def teams(cloudflare):
    accounts = []
    for n in range(1, 5):
        cloudflare.put_account(f"{n:032x}", balance=n * 1000)
        accounts.append(Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}"))
    return accounts


def _at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(slots.timezone, "now", lambda: moment)


def test_the_slot_is_the_interval_the_moment_falls_in():
    moment = datetime(2026, 12, 1, 12, 4, 59, tzinfo=UTC)
    assert slots.slot_start(moment, 300) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert slots.slot_start(moment + timedelta(seconds=1), 300) == datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


def test_a_second_sweep_in_the_same_slot_sends_nothing_and_says_so(
    teams, eager_tasks, monkeypatch, settings, caplog
):
    settings.SYNC_BALANCE_INTERVAL = 300
    settings.SYNC_BALANCE_HEALTHY_EVERY = 1  # every account on every sweep: this test is about the slots
    _at(monkeypatch, datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC))
    assert tasks.sweep_balances.apply().get() == 1
    _at(monkeypatch, datetime(2026, 12, 1, 12, 4, 50, tzinfo=UTC))  # a second beat, or a manual trigger
    with caplog.at_level(logging.INFO, logger="billing.sync"):
        assert tasks.sweep_balances.apply().get() == 0
    assert "already swept this slot" in caplog.text
    assert SyncRun.objects.filter(job="balance").count() == len(teams)

    _at(monkeypatch, datetime(2026, 12, 1, 12, 5, 0, tzinfo=UTC))  # the next slot sweeps again
    assert tasks.sweep_balances.apply().get() == 1
    assert SyncRun.objects.filter(job="balance").count() == 2 * len(teams)
    assert SweepSlot.objects.filter(job="balance").count() == 2


def test_each_job_has_its_own_slots(teams, eager_tasks, monkeypatch):
    _at(monkeypatch, datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC))
    assert tasks.sweep_balances.apply().get() == 1
    assert tasks.sweep_invoices.apply().get() == 1
    assert set(SweepSlot.objects.values_list("job", flat=True)) == {"balance", "invoices"}


def _hold(job: str, account: Account) -> SyncRun:
    """A live lock of (job, account), as another worker's run in progress leaves it."""
    return SyncRun.objects.create(job=job, account=account, started_at=timezone.now())


def test_sync_command_lists_every_unit_and_a_held_usage_lock_as_skipped(teams, capsys):
    _hold(SyncJob.USAGE, teams[0])
    call_command("sync", "--threads", "1")
    out = capsys.readouterr().out
    assert "balance: 4 synced, 0 failed, 0 skipped" in out
    assert "spending_limit: 4 synced, 0 failed, 0 skipped" in out
    assert "usage: 3 synced, 0 failed, 1 skipped (already running elsewhere)" in out
    assert "invoices: 4 synced, 0 failed, 0 skipped" in out


def test_sync_command_reports_held_usage_and_invoice_locks_as_skipped_not_synced(teams, capsys):
    for account in teams:
        _hold(SyncJob.USAGE, account)
        _hold(SyncJob.INVOICES, account)
    call_command("sync", "--threads", "1")
    out = capsys.readouterr().out
    assert "usage: 0 synced, 0 failed, 4 skipped (already running elsewhere)" in out
    assert "invoices: 0 synced, 0 failed, 4 skipped (already running elsewhere)" in out
    assert SyncRun.objects.filter(job="usage", outcome=SyncOutcome.SUCCEEDED).count() == 0


def test_the_balance_sweep_fetches_topup_limits_about_daily(teams, cloudflare, settings):
    ids = [a.pk for a in teams]
    sync.run_job(SyncJob.BALANCE, ids)  # first sweep: spending limit and top-up range with it
    assert sum(r["path"].endswith("/topup/limits") for r in cloudflare.requests()) == len(teams)
    assert all(TopUpRange.objects.filter(account=a).exists() for a in teams)
    assert not any(sync.topup_range_due(a) for a in teams)

    stale = TopUpRange.objects.get(account=teams[0])
    older = stale.synced_at - topup_range.REFRESH
    sync.store_topup_range(teams[0], stale.min_cents, stale.max_cents, synced_at=older)
    assert sync.topup_range_due(teams[0])
    cloudflare.clear_requests()
    settings.SPENDING_LIMIT_REFRESH_SECONDS = 0  # the spending limit is due on every account
    sync.run_job(SyncJob.BALANCE, ids)
    limits = [r for r in cloudflare.requests() if r["path"].endswith("/topup/limits")]
    assert [r["path"].split("/")[4] for r in limits] == [teams[0].cloudflare_id]
