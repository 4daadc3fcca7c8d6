"""A simulated hour of the sweeps at N accounts on one token: the busiest 300 s of API requests.

Every 5 minutes of simulated time the balance sweep and the usage sweep are started the way beat starts them
(`billing.tasks.sync_balances` / `sync_usage`, each claiming its slot), run inline in this process (Celery
eager: the chunks follow one another, SYNC_THREADS threads each). The portal's clock is moved, not waited
for: simulated time = the tick's start + the real time spent since it began, so an hour takes as long as its
requests take to answer. Each request of the sandbox's log is placed at its simulated moment; the figure is
the most requests in any 300 s sliding window of the hour. The sandbox's own limit and the portal's budget
are lifted for the run: it measures what the schedule asks for, not what a limiter lets through.

Before the hour (not counted): every account's balance and usage are synced once (so runways are known and
each account has a snapshot), then the spending limits are spread over the last hour and the gateways marked
unread (each account reads them once in its own slice, as an hour of steady state does). A tenth of the
accounts are unhealthy (a low balance: a runway under three days), the rest healthy.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime, timedelta

from bench.common import Sandbox

TICK_SECONDS = 300
UNHEALTHY_EVERY = 10  # one account in ten has a runway under three days


def _prepare(sandbox: Sandbox, cloudflare_ids: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def put(index_and_id: tuple[int, str]) -> None:
        index, cloudflare_id = index_and_id
        low = index % UNHEALTHY_EVERY == 0
        sandbox.call(
            "PUT",
            f"accounts/{cloudflare_id}",
            {
                "name": f"Hour {cloudflare_id[-4:]}",
                "balance": 2_000 if low else 500_000,  # cents: $20 at $1/h is under a day; $5,000 months
                "usage_per_hour": 1,
                "payment_method": {"brand": "visa", "last4": "4242"},
            },
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, enumerate(cloudflare_ids)))


class _Clock:
    """The portal's `timezone.now`, moved to simulated time: a tick's start plus the real time since."""

    def __init__(self, start: datetime) -> None:
        self.tick_start = start
        self.real_start = time.time()

    def at(self, moment: datetime) -> None:
        self.tick_start, self.real_start = moment, time.time()

    def now(self) -> datetime:
        return self.tick_start + timedelta(seconds=time.time() - self.real_start)

    def simulated(self, real: float) -> float:
        return self.tick_start.timestamp() + (real - self.real_start)


def _warm_up(ids: list[int]) -> None:
    from bench.seed import reset_spending_limit_ages
    from billing import pipeline, sync
    from billing.models import SyncRun

    pipeline.run(sync.JOB_BALANCE, ids)
    pipeline.run(sync.JOB_USAGE, ids)
    pipeline.run(sync.JOB_BALANCE, ids)  # the runways, now that usage is known
    reset_spending_limit_ages()
    SyncRun.objects.filter(job=sync.JOB_GATEWAYS).delete()


def _kind(path: str) -> str:
    for marker, kind in (
        ("/credit-balance", "balance"),
        ("/spending-limit", "spending_limit"),
        ("/topup/limits", "topup_limits"),
        ("/usage-history", "usage"),
        ("/graphql", "graphql"),
        ("/ai-gateway/gateways", "gateways"),
    ):
        if marker in path:
            return kind
    return "other"


def _run_ticks(sandbox: Sandbox, clock, start, ticks: int) -> tuple[list[float], list[dict]]:
    """Each tick: the beat's balance and usage sweeps at its simulated moment; returns when every request was
    made (simulated seconds) and each tick's requests by kind."""
    from billing import tasks

    moments: list[float] = []
    per_tick = []
    for tick in range(ticks):
        clock.at(start + timedelta(seconds=TICK_SECONDS * tick, milliseconds=100))
        tasks.sync_balances.apply()
        tasks.sync_usage.apply()
        log = [e for e in sandbox.requests() if e["path"].startswith("/client/v4/")]
        sandbox.call("DELETE", "requests")
        moments += [clock.simulated(e["time"]) for e in log]
        kinds: dict[str, int] = {}
        for entry in log:
            kinds[_kind(entry["path"])] = kinds.get(_kind(entry["path"]), 0) + 1
        per_tick.append({"requests": len(log), **kinds})
        print(f"  hour, tick {tick + 1}/{ticks}: {per_tick[-1]}", file=sys.stderr, flush=True)
    return moments, per_tick


def hour_run(accounts: int, ticks: int = 12) -> dict:
    """Runs `ticks` 5-minute beats of balance and usage sweeps over the active accounts; returns the figures
    (`max_per_300s` the busiest sliding window, `per_tick` the requests of each tick by kind)."""
    from django.conf import settings
    from django.utils import timezone

    from bench.sweep import RATE_LIMIT, _max_in_window
    from billing import api, sync
    from billing.models import Account, SweepSlot
    from portal.celery import app

    token = f"bench-hour-{uuid.uuid4().hex}"
    sandbox = Sandbox(token=token, rate_limit="10000000/300")
    saved = {
        name: getattr(settings, name)
        for name in ("CLOUDFLARE_API_BASE_URL", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_RATE_LIMIT")
    }
    real_now, eager = timezone.now, (app.conf.task_always_eager, app.conf.task_eager_propagates)
    try:
        keep = list(Account.objects.filter(is_active=True).order_by("pk")[:accounts])
        ids = [a.pk for a in keep]
        _prepare(sandbox, [a.cloudflare_id for a in keep])
        settings.CLOUDFLARE_API_BASE_URL, settings.CLOUDFLARE_API_TOKEN = sandbox.base_url, token
        settings.CLOUDFLARE_RATE_LIMIT = 10_000_000
        api.reset_clients()
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
        _warm_up(ids)
        start = sync.slot_start(real_now(), TICK_SECONDS) + timedelta(seconds=TICK_SECONDS)
        clock = _Clock(start)
        timezone.now = clock.now
        SweepSlot.objects.all().delete()
        sandbox.call("DELETE", "requests")
        started = time.time()
        moments, per_tick = _run_ticks(sandbox, clock, start, ticks)
        busiest = _max_in_window(moments, TICK_SECONDS)
        return {
            "accounts": len(ids),
            "ticks": ticks,
            "simulated_s": ticks * TICK_SECONDS,
            "wall_s": round(time.time() - started, 1),
            "requests": len(moments),
            "max_per_300s": busiest,
            "budget": RATE_LIMIT,
            "budget_held": busiest <= RATE_LIMIT,
            "per_tick": per_tick,
            "unhealthy_share": 1 / UNHEALTHY_EVERY,
        }
    finally:
        timezone.now = real_now
        app.conf.task_always_eager, app.conf.task_eager_propagates = eager
        for name, value in saved.items():
            setattr(settings, name, value)
        api.reset_clients()
        sandbox.stop()
