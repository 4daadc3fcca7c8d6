"""A simulated hour of the sweeps at N accounts on one token: the busiest 300 s of API requests.

Every 5 minutes of simulated time the balance, usage and invoice sweeps are started the way beat starts them
(`billing.tasks.sweep_balances` / `sync_usage` / `sync_invoices`, each claiming its slot and choosing its
accounts), and the chunks they send are run inline in this process (SYNC_THREADS threads each), each at the
moment its countdown names (the sweep's pace, SYNC_SWEEP_SPREAD of the slot), in the order a worker would
start them. The portal's clock is moved, not waited for: simulated time = a chunk's moment + the real time
spent since, so an hour takes as long as its requests take to answer. Each request of the sandbox's log is
placed at its simulated moment; the figure is the most requests in any 300 s sliding window of the hour.
The sandbox's own limit and the portal's budget are lifted for the run: it measures what the schedule asks
for, not what a limiter lets through.

Before the hour (not counted): every account's balance, usage and top-up range are synced once (so runways
are known and each account has a snapshot), then the spending limits' ages are spread over the last hour and
the top-up ranges' over the last day (as hourly and daily refreshes leave them), and the gateways marked
unread (each account reads them once in its own slice, as an hour of steady state does). A tenth of the
accounts are unhealthy: a balance of $8, under the default low-balance alert of $10, so the warm-up opens an
alert for each and the balance sweep fetches them every time; the rest are healthy ($5,000: months of runway).
The unhealthy ones are every tenth account, taken alternately with an odd and an even pk, as chance would
spread them (healthy accounts split over the sweeps by pk parity).
"""

from __future__ import annotations

import bisect
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

from bench.common import RATE_LIMIT, Sandbox, max_in_window

TICK_SECONDS = 300
UNHEALTHY_EVERY = 10  # one account in ten has an open low-balance alert


def unhealthy(index: int) -> bool:
    """Every UNHEALTHY_EVERY-th account, offset by one in every other block (odd and even pks alike)."""
    block = index // UNHEALTHY_EVERY
    return index % UNHEALTHY_EVERY == block % 2


def _prepare(sandbox: Sandbox, cloudflare_ids: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def put(index_and_id: tuple[int, str]) -> None:
        index, cloudflare_id = index_and_id
        low = unhealthy(index)
        sandbox.call(
            "PUT",
            f"accounts/{cloudflare_id}",
            {
                "name": f"Hour {cloudflare_id[-4:]}",
                "balance": 800 if low else 500_000,  # cents: $8 opens the low-balance alert; $5,000 does not
                "usage_per_hour": 1,
                "payment_method": {"brand": "visa", "last4": "4242"},
            },
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, enumerate(cloudflare_ids)))


class _Clock:
    """The portal's `timezone.now`, moved to simulated time: the last moment it was set to plus the real time
    since. Every setting is kept, so a request's real time maps back to its simulated moment afterwards."""

    def __init__(self, start: datetime) -> None:
        self.anchors: list[tuple[float, datetime]] = []  # (real time, simulated moment), in real-time order
        self.at(start)

    def at(self, moment: datetime) -> None:
        self.anchors.append((time.time(), moment))

    def now(self) -> datetime:
        real, moment = self.anchors[-1]
        return moment + timedelta(seconds=time.time() - real)

    def simulated(self, real: float) -> float:
        """The simulated moment (Unix seconds) of something that happened at real time `real`."""
        index = max(bisect.bisect_right([r for r, _ in self.anchors], real) - 1, 0)
        anchor_real, moment = self.anchors[index]
        return moment.timestamp() + (real - anchor_real)


def _warm_up(ids: list[int]) -> None:
    from bench.seed import reset_spending_limit_ages
    from billing import pipeline
    from billing.models import SyncJob, SyncRun

    pipeline.run(SyncJob.BALANCE, ids)
    pipeline.run(SyncJob.USAGE, ids)
    pipeline.run(SyncJob.BALANCE, ids)  # the runways, now that usage is known
    reset_spending_limit_ages()
    SyncRun.objects.filter(job=SyncJob.GATEWAYS).delete()


def _spread_topup_range_ages(ids: list[int], start: datetime) -> None:
    """Fetches every account's top-up range once, then dates the fetches evenly over the 0.8 day before the
    hour starts, as the syncs' daily refreshes leave them (each is due from 0.8 of a day old, at a random
    point up to a day): a few become due in each tick of the hour."""
    from concurrent.futures import ThreadPoolExecutor

    from billing.models import Account, TopUpRange
    from billing.sync.topup_range import REFRESH, sync_topup_range

    accounts = list(Account.objects.filter(pk__in=ids).order_by("pk"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(sync_topup_range, accounts))
    for index, account in enumerate(accounts):
        age = REFRESH * 0.8 * index / len(accounts)
        TopUpRange.objects.filter(account=account).update(synced_at=start - age)


def _unhealthy_count(ids: list[int]) -> int:
    """How many accounts the balance sweep counts as unhealthy (fetched every sweep), as it decides it."""
    from billing.sync.balance import balance_health, healthy

    return sum(not healthy(h) for h in balance_health(ids).values())


def _kind(path: str) -> str:
    for marker, kind in (
        ("/credit-balance", "balance"),
        ("/spending-limit", "spending_limit"),
        ("/topup/limits", "topup_limits"),
        ("/usage-history", "usage"),
        ("/graphql", "graphql"),
        ("/ai-gateway/gateways", "gateways"),
        ("/invoice", "invoices"),
    ):
        if marker in path:
            return kind
    return "other"


class _Chunks:
    """Stands in for `sync_chunk.apply_async` during the hour: keeps each chunk a sweep sends, with its
    countdown, so that the tick runs it at its simulated moment instead of at once (eager mode would)."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, int, tuple]] = []

    def send(self, args=(), countdown=None, **_options) -> None:
        self.pending.append((countdown or 0.0, len(self.pending), tuple(args)))

    def run(self, clock: _Clock, tick_start: datetime) -> None:
        from billing import tasks

        for delay, _, args in sorted(self.pending):
            moment = tick_start + timedelta(seconds=delay)
            if moment > clock.now():  # a chunk whose moment came while the one before ran starts right after
                clock.at(moment)
            tasks.sync_chunk.apply(args=args)
        self.pending.clear()


def _run_ticks(sandbox: Sandbox, clock, start, ticks: int) -> tuple[list[float], list[dict]]:
    """Each tick: the beat's sweeps at its simulated moment and their chunks at theirs; returns when every
    request was made (simulated seconds) and each tick's requests by kind."""
    from billing import tasks

    chunks = _Chunks()
    real_send = tasks.sync_chunk.apply_async
    tasks.sync_chunk.apply_async = chunks.send
    moments: list[float] = []
    per_tick = []
    try:
        for tick in range(ticks):
            tick_start = start + timedelta(seconds=TICK_SECONDS * tick, milliseconds=100)
            clock.at(tick_start)
            for sweep in (tasks.sweep_balances, tasks.sweep_usage, tasks.sweep_invoices):
                sweep.apply()
            chunks.run(clock, tick_start)
            log = [e for e in sandbox.requests() if e["path"].startswith("/client/v4/")]
            sandbox.call("DELETE", "requests")
            moments += [clock.simulated(e["time"]) for e in log]
            kinds = Counter(_kind(entry["path"]) for entry in log)
            per_tick.append({"requests": len(log), **kinds})
            print(f"  hour, tick {tick + 1}/{ticks}: {per_tick[-1]}", file=sys.stderr, flush=True)
    finally:
        tasks.sync_chunk.apply_async = real_send
    return moments, per_tick


def hour_run(accounts: int, ticks: int = 12) -> dict:
    """Runs `ticks` 5-minute beats of balance and usage sweeps over the active accounts; returns the figures
    (`max_per_300s` the busiest sliding window, `per_tick` the requests of each tick by kind)."""
    from django.conf import settings
    from django.utils import timezone

    from bench.seed import reset_spending_limit_ages
    from billing import clients, sync
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
        clients.reset_clients()
        app.set_current()  # the portal's shared tasks send through it, eagerly
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
        _warm_up(ids)
        unhealthy = _unhealthy_count(ids)
        start = sync.slot_start(real_now(), TICK_SECONDS) + timedelta(seconds=TICK_SECONDS)
        _spread_topup_range_ages(ids, start)
        reset_spending_limit_ages(now=start)  # as an hour of refreshes leaves them when the hour starts
        clock = _Clock(start)
        timezone.now = clock.now
        SweepSlot.objects.all().delete()
        sandbox.call("DELETE", "requests")
        started = time.time()
        moments, per_tick = _run_ticks(sandbox, clock, start, ticks)
        busiest = max_in_window(moments, TICK_SECONDS)
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
            "unhealthy_accounts": unhealthy,
        }
    finally:
        timezone.now = real_now
        app.conf.task_always_eager, app.conf.task_eager_propagates = eager
        for name, value in saved.items():
            setattr(settings, name, value)
        clients.reset_clients()
        sandbox.stop()
