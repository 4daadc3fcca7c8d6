"""The sweeps through real Celery workers on Redis, against the sandbox over HTTP."""

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Count, F
from django.utils import timezone

from billing.models import Account, BalanceSnapshot, Invoice, SweepSlot, SyncOutcome, SyncRun, UsageRecord
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.clock import wait_for
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.worker
# One usage slice and every balance on every sweep: these tests are about workers and slots, not the schedule.
WORKER_ENV = {
    "CLOUDFLARE_RATE_LIMIT": "100000",
    "SYNC_THREADS": "2",
    "SYNC_USAGE_SLICES": "1",
    "SYNC_INVOICES_SLICES": "1",
    "SYNC_SWEEP_SPREAD": "0",  # every chunk at once (one test below keeps the pace)
    "SYNC_BALANCE_HEALTHY_EVERY": "1",
}


def finished(job: str, accounts) -> bool:
    runs = SyncRun.objects.filter(job=job, account__in=accounts)
    done = set(runs.filter(outcome=SyncOutcome.SUCCEEDED).values_list("account_id", flat=True))
    return done == {a.pk for a in accounts} and not runs.filter(outcome=SyncOutcome.RUNNING).exists()


def worker_pids(app, index: int) -> list[int]:
    """The main process of worker `index` and its pool processes."""
    node = f"{app.conf.task_default_queue}-{index}@{os.uname().nodename}"
    stats = app.control.inspect(destination=[node], timeout=10).stats()  # returns on the answer
    main = stats[node]["pid"]
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == main:
            children.append(int(stat.parent.name))
    return [main, *children]


def test_two_workers_sweeping_at_once_leave_no_duplicates(celery_worker_on_redis, cloudflare):
    cloudflare.reset("demo")
    accounts = [Account.objects.create(cloudflare_id=cf_id, name=name) for cf_id, name in DEMO_ACCOUNTS]
    env = {**WORKER_ENV, "SYNC_CHUNK_SIZE": "1"}
    app = celery_worker_on_redis(env)
    celery_worker_on_redis(env)

    for _ in range(2):
        for task in ("sync_usage", "sync_invoices", "sync_balances"):
            app.send_task(f"billing.tasks.{task}")
    for job in ("usage", "invoices", "balance"):
        wait_for(lambda job=job: finished(job, accounts), message=f"{job} on every account")

    assert not SyncRun.objects.filter(outcome=SyncOutcome.FAILED).exists()
    repeated = (
        UsageRecord.objects.values("account", "window", "start").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert not repeated.exists()
    for account in accounts:
        remote = cloudflare.account(account.cloudflare_id)
        assert Invoice.objects.filter(account=account).count() == len(remote["topups"])
        assert UsageRecord.objects.filter(account=account, window="day").count() >= 90
        # Each sweep ran each account at most once; the lock may have made one of them skip it.
        assert 1 <= SyncRun.objects.filter(account=account, job="usage").count() <= 2
        assert BalanceSnapshot.objects.filter(account=account).count() <= 2


def test_a_worker_killed_mid_sweep_loses_nothing_a_rerun_cannot_complete(
    celery_worker_on_redis, own_cloudflare
):
    # Cloudflare holds every balance answer for a minute (longer than the client's read timeout), so the six
    # syncs are all in flight when the worker is killed however slowly the machine runs; the sandbox is the
    # test's own, so those answers, given after the test, reach no other test.
    cloudflare = own_cloudflare
    accounts = []
    for n in range(1, 7):
        cloudflare.put_account(f"{n:032x}", balance=n * 1000)
        accounts.append(Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}"))
    cloudflare.add_fault(path_contains="credit-balance", latency_ms=60_000, count=None)
    env = {**WORKER_ENV, "SYNC_CHUNK_SIZE": "3", "SYNC_THREADS": "3", "SYNC_LOCK_TIMEOUT_SECONDS": "3"}
    env["SYNC_BALANCE_INTERVAL"] = "1"  # the re-run below is a sweep of a later slot
    env["SYNC_SWEEP_SPREAD"] = "0.8"  # paced as in production: the second chunk waits 0.4 s on the worker
    app = celery_worker_on_redis(env)

    app.send_task("billing.tasks.sync_balances")
    running = SyncRun.objects.filter(job="balance", outcome=SyncOutcome.RUNNING)
    wait_for(lambda: running.count() == 6, timeout=120, message="six balance syncs in flight")
    for pid in worker_pids(app, 0):
        os.kill(pid, signal.SIGKILL)
    assert not BalanceSnapshot.objects.exists()

    cloudflare.clear_faults()
    # The dead worker's locks expire after SYNC_LOCK_TIMEOUT_SECONDS: their clock is moved past it (no wait).
    running.update(started_at=F("started_at") - timedelta(seconds=4))
    app = celery_worker_on_redis(env)
    swept = SweepSlot.objects.get(job="balance").slot_start
    wait_for(lambda: timezone.now() >= swept + timedelta(seconds=1), message="the next 1 s balance slot")
    app.send_task("billing.tasks.sync_balances")
    wait_for(lambda: finished("balance", accounts), message="the re-run")

    assert BalanceSnapshot.objects.count() == 6
    abandoned = SyncRun.objects.filter(job="balance", outcome=SyncOutcome.FAILED)
    assert abandoned.count() == 6 and all("abandoned" in run.error for run in abandoned)
    assert not running.exists()


def test_two_beats_sweep_each_slot_once(celery_worker_on_redis, cloudflare):
    """Two `celery beat` processes both send the balance sweep every second to two workers, whose slots are
    4 s long: each slot is sent about eight times, and swept once, so each account's balance is fetched once
    per slot, not twice.

    The beats send more often than a slot lasts so that every slot is claimed within about a second of its
    start, and one slot's chunk is done long before the next slot's begins (two chunks of one account at
    once would skip it, by its lock, rather than fetch it twice). The test waits on what the workers did,
    never for a number of seconds: a busy machine makes it slower, not red."""
    accounts = []
    for n in range(1, 4):
        cloudflare.put_account(f"{n:032x}", balance=n * 1000)
        accounts.append(Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}"))
    quiet = dict.fromkeys(("SYNC_USAGE_INTERVAL", "SYNC_INVOICES_INTERVAL", "SYNC_TOPUPS_INTERVAL"), "3600")
    quiet.update(RETENTION_INTERVAL="86400", ALERTS_INTERVAL="3600", OUTBOX_INTERVAL="3600")
    env = {**WORKER_ENV, **quiet, "SYNC_BALANCE_INTERVAL": "4"}
    celery_worker_on_redis(env)
    celery_worker_on_redis(env)
    beats = [celery_worker_on_redis.beat({**env, "SYNC_BALANCE_INTERVAL": "1"}) for _ in range(2)]

    balance_slots = SweepSlot.objects.filter(job="balance")
    wait_for(lambda: balance_slots.count() >= 3, timeout=180, message="three balance slots swept")
    for beat in beats:
        beat.terminate()
    for beat in beats:
        beat.wait(timeout=20)
    wait_for(celery_worker_on_redis.idle, timeout=120, message="the workers done with every sweep sent")

    slots = balance_slots.count()
    succeeded = SyncRun.objects.filter(job="balance", outcome=SyncOutcome.SUCCEEDED)
    assert [succeeded.filter(account=a).count() for a in accounts] == [slots] * len(accounts)
    fetched = api_requests(cloudflare, contains="/credit-balance")
    for account in accounts:
        mine = [r for r in fetched if f"/accounts/{account.cloudflare_id}/" in r["path"]]
        assert len(mine) == slots  # one fetch per slot swept, although two beats sent each sweep
    assert not SyncRun.objects.filter(job="balance").exclude(outcome=SyncOutcome.SUCCEEDED).exists()


def test_the_usage_sweep_on_a_real_worker_stores_gateway_spend(celery_worker_on_redis, cloudflare):
    """The hourly usage sweep through a worker on Redis: billed usage, then the gateways (first read) and the
    spend analytics, stored by gateway, model and provider."""
    from billing.models import Gateway, GatewayRule, GatewaySpendDay, GatewaySpendHour

    cloudflare.reset("demo")
    accounts = [Account.objects.create(cloudflare_id=cf_id, name=name) for cf_id, name in DEMO_ACCOUNTS]
    app = celery_worker_on_redis(WORKER_ENV)

    app.send_task("billing.tasks.sync_usage")
    wait_for(lambda: finished("gateway_spend", accounts), message="gateway spend of every account")

    assert finished("usage", accounts) and finished("gateways", accounts)
    labs = Account.objects.get(name__icontains="labs")
    assert Gateway.objects.filter(account=labs).exists()
    assert GatewayRule.objects.filter(gateway__account=labs).exists()
    hours = GatewaySpendHour.objects.filter(account=labs)
    assert hours.exists() and hours.filter(cost__gt=0).exists()
    assert GatewaySpendDay.objects.filter(account=labs, cost__gt=0).exists()
    assert len({(h.gateway, h.model, h.provider) for h in hours}) > 1
    graphql = api_requests(cloudflare, contains="/graphql")
    # A first sweep: per account the dataset's settings, then the 14-day backfill in five three-day queries.
    assert len(graphql) == 6 * len(accounts)
