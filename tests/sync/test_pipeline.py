"""The one path of every sync (billing/pipeline.py): the jobs for an account, then its alerts; driven through
the functions, the Celery tasks that production runs, and `manage.py sync`, against the sandbox."""

import pytest
from django.core.management import call_command

from billing import pipeline, tasks
from billing.models import (
    Account,
    BalanceSnapshot,
    SyncJob,
    SyncOutcome,
    SyncRun,
    UsageRecord,
)
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.sync_fixtures import demo_account

pytestmark = pytest.mark.django_db


# --- one account ----------------------------------------------------------------------------------------
def test_sync_account_runs_every_job_and_returns_the_runs(cloudflare):
    account = demo_account(cloudflare)

    runs = pipeline.sync_account(account)

    assert [r.job for r in runs] == [
        "balance",
        "spending_limit",
        "usage",
        "gateways",
        "gateway_spend",
        "invoices",
        "topup_limits",  # Cloudflare's top-up range: every sync fetches it while unknown
    ]
    assert all(r.outcome == SyncOutcome.SUCCEEDED for r in runs)
    assert BalanceSnapshot.objects.filter(account=account).count() == 1
    # Beyond billing: the gateways listing, the analytics settings, and the 14-day backfill split into five
    # queries of at most three days (the sandbox's maxDuration, as the settings say).
    assert sum(r.api_calls for r in runs) == len(cloudflare.requests()) == 15


def test_a_first_sync_evaluates_alerts_once_usage_is_in(cloudflare):
    from billing.models import AlertEvent

    cloudflare.reset("demo")
    staging_id, name = DEMO_ACCOUNTS[1]  # low balance and falling, about two days of credit
    account = Account.objects.create(cloudflare_id=staging_id, name=name)

    pipeline.sync_account(account)

    runway = AlertEvent.objects.get(account=account, kind="runway", resolved_at__isnull=True)
    assert "/day" in runway.headline
    assert "–/day" not in runway.headline  # the spend per day was known when the alert opened


def test_sync_account_can_raise_the_first_cloudflare_error(cloudflare):
    from billing.cloudflare import NotFoundError

    account = Account.objects.create(cloudflare_id="e" * 32, name="Gone")
    with pytest.raises(NotFoundError):
        pipeline.sync_account(account, raise_on_error=True)
    assert SyncRun.objects.filter(account=account, outcome=SyncOutcome.FAILED).count() == 6


def test_manage_py_sync_with_account_and_backfill(cloudflare, capsys):
    account = demo_account(cloudflare)

    call_command("sync", "--account", account.cloudflare_id, "--backfill-days", "2")

    assert "1 synced, 0 failed" in capsys.readouterr().out
    assert UsageRecord.objects.filter(account=account, window="day").count() <= 3


@pytest.mark.parametrize("run", ["sync_account task", "sync_chunk task", "manage.py sync"])
def test_the_production_paths_evaluate_alerts_once_usage_is_in(cloudflare, run):
    from billing.models import AlertEvent

    cloudflare.reset("demo")
    staging_id, name = DEMO_ACCOUNTS[1]  # low balance and falling, about two days of credit
    account = Account.objects.create(cloudflare_id=staging_id, name=name)

    if run == "sync_account task":
        tasks.sync_account.apply(args=[account.pk]).get()
    elif run == "sync_chunk task":
        tasks.sync_chunk.apply(args=[SyncJob.ACCOUNT, [account.pk]]).get()
    else:
        call_command("sync", "--account", account.cloudflare_id)

    runway = AlertEvent.objects.get(account=account, kind="runway", resolved_at__isnull=True)
    assert "–/day" not in runway.headline and "/day" in runway.headline
    assert [r.job for r in SyncRun.objects.filter(account=account).order_by("pk")] == [
        "balance",
        "spending_limit",
        "usage",
        "gateways",
        "gateway_spend",
        "invoices",
        "topup_limits",  # Cloudflare's top-up range: every sync fetches it while unknown
    ]
