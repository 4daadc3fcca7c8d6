"""Sync benchmark: a full balance sweep of N accounts against the sandbox with injected latency, by 1, 2 and
4 Celery workers on Redis; then one slice of the usage sweep (whose calls include one GraphQL analytics query
per account of the slice) by one worker.

    python -m bench.sweep --database-url URL --out result.json [--accounts 1000] [--workers 1,2,4]

Then a simulated hour of the balance and usage sweeps at `--hour-accounts` (bench/sweep_hour.py): the most
requests in any 300 s window, against the budget of 1,200.

Each run gets a fresh sandbox (so its 1,200-per-5-minutes limit starts from zero), a fresh token (so the
portal's Redis budget key is new), its own queue, and the sweep database brought back to the same steady state
(spending limits fetched evenly over the last hour). The sweep is started the way beat starts it: one
`billing.tasks.sync_balances` message, which fans out `sync_chunk` tasks to the same queue.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DEFAULT_REDIS_URL,
    PYTHON,
    RATE_LIMIT,
    RATE_PERIOD,
    ROOT,
    VAR,
    Sandbox,
    bench_env,
    children_of,
    db_kind,
    max_in_window,
    proc_status_kb,
    run_python,
    stop_process,
)

TARGET_SECONDS = 30


def _prepare_sandbox(sandbox: Sandbox, cloudflare_ids: list[str], latency_ms: int) -> None:
    def put(cloudflare_id: str) -> None:
        sandbox.call(
            "PUT",
            f"accounts/{cloudflare_id}",
            {
                "name": f"Sweep {cloudflare_id[-4:]}",
                "balance": 50_000,
                "usage_per_hour": 1,
                "payment_method": {"brand": "visa", "last4": "4242"},
            },
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, cloudflare_ids))
    # Every API request waits this long before it is answered, until the sandbox stops.
    sandbox.call("POST", "faults", {"latency_ms": latency_ms, "count": None})


def _start_workers(count: int, queue: str, env: dict, app) -> list[subprocess.Popen]:
    workers = []
    for n in range(count):
        command = [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queue,
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}-{n}@%h",
        ]
        # The start-up banner goes to stdout; warnings and errors still reach stderr.
        # The banner and the warning about running as root would drown the benchmark's output: to a file.
        log = (VAR / f"{queue}-{n}.log").open("w")
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        log.close()
    names = {f"{queue}-{n}@{os.uname().nodename}" for n in range(count)}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        answered = {
            name for reply in app.control.ping(destination=list(names), timeout=0.5) for name in reply
        }
        if answered >= names:
            return workers
        for process in workers:
            if process.poll() is not None:
                raise RuntimeError(f"a celery worker exited with {process.returncode}")
    raise RuntimeError("celery workers did not start within 90 s")


def _wait_for_sweep(ours, accounts: int, timeout: float) -> bool:
    """Waits until every account's balance run has finished and no run is left moving; True if timed out."""
    from billing.models import SyncJob

    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        finished = ours.filter(job=SyncJob.BALANCE).exclude(outcome="running").count()
        if finished >= accounts and not ours.filter(outcome="running").exists():
            # A spending-limit unit starts just after its balance unit ends: done only once nothing moves.
            total = ours.count()
            if total == seen:
                break
            seen = total
            time.sleep(0.5)
            continue
        time.sleep(0.1)
    return time.monotonic() >= deadline


def _worker_memory(processes: list[subprocess.Popen]) -> list[dict]:
    """Peak RSS (MB) of each worker's main process and of its pool processes."""
    return [
        {
            "main_mb": round((proc_status_kb(process.pid, "VmHWM") or 0) / 1024, 1),
            "pool_mb": [
                round((proc_status_kb(pid, "VmHWM") or 0) / 1024, 1) for pid in children_of(process.pid)
            ],
        }
        for process in processes
    ]


def _api_figures(sandbox: Sandbox, minimum: int) -> dict:
    """The API requests the sandbox answered: counts by kind and status (beside the `minimum`, one per
    account), and the busiest 300 s window."""
    api = [entry for entry in sandbox.requests() if entry["path"].startswith("/client/v4/")]
    statuses: dict[str, int] = {}
    for entry in api:
        statuses[str(entry["status"])] = statuses.get(str(entry["status"]), 0) + 1
    busiest = max_in_window([e["time"] for e in api], RATE_PERIOD)
    return {
        "api_calls": len(api),
        "balance_calls": sum(1 for e in api if e["path"].endswith("/credit-balance")),
        "spending_limit_calls": sum(
            1 for e in api if "spending-limit" in e["path"] or "spending_limit" in e["path"]
        ),
        "minimum_calls": minimum,
        "statuses": statuses,
        "http_429": statuses.get("429", 0),
        "max_per_300s": busiest,
        "budget_held": statuses.get("429", 0) == 0 and busiest <= RATE_LIMIT,
    }


def _run_figures(ours) -> dict:
    """Outcomes of the sweep's SyncRun rows, refusals by the portal's request budget and the first errors."""
    from django.db.models import Q

    return {
        "runs": {
            outcome: ours.filter(outcome=outcome).count() for outcome in ("succeeded", "failed", "running")
        },
        "budget_refusals": ours.filter(Q(error__icontains="budget")).count(),
        "errors": list(ours.exclude(error="").values_list("error", flat=True).distinct()[:5]),
    }


def _print_run(x: dict) -> None:
    print(
        f"  {x['workers']} worker(s): {x['wall_s']:.1f} s, "
        f"{x['api_calls']} calls (minimum {x['minimum_calls']}), "
        f"max {x['max_per_300s']}/300 s, 429: {x['http_429']}, runs {x['runs']}",
        file=sys.stderr,
        flush=True,
    )


def _capacity_env(database_url: str, redis_url: str, sandbox: Sandbox, token: str) -> dict:
    """The workers' environment for a capacity run against `sandbox`."""
    return bench_env(
        database_url,
        redis_url,
        CLOUDFLARE_API_BASE_URL=sandbox.base_url,
        CLOUDFLARE_API_TOKEN=token,
        # A sweep of every account (the worst case): healthy ones are otherwise fetched every other sweep.
        SYNC_BALANCE_HEALTHY_EVERY="1",
        # Every chunk at once: the run measures how fast the workers get through a sweep, not its pace
        # (which spreads a sweep's chunks over most of its 5 minutes; the simulated hour keeps that).
        SYNC_SWEEP_SPREAD="0",
    )


def one_run(
    workers: int, accounts: int, latency_ms: int, database_url: str, redis_url: str, timeout: float
) -> dict:
    """A full sweep by `workers` Celery workers against a fresh sandbox; returns its figures."""
    from celery import Celery
    from django.db.models import Max
    from django.utils import timezone

    from bench.seed import reset_spending_limit_ages
    from billing.models import Account, SweepSlot, SyncJob, SyncRun

    token = f"bench-sweep-{uuid.uuid4().hex}"
    queue = f"bench-sweep-{uuid.uuid4().hex[:8]}"
    sandbox = Sandbox(token=token, rate_limit=f"{RATE_LIMIT}/{RATE_PERIOD}")
    processes: list[subprocess.Popen] = []
    # Not the current app: the portal's tasks (shared tasks) must keep sending through the portal's own app,
    # which the simulated hour runs eagerly in this process.
    app = Celery("bench-sweep", broker=redis_url, set_as_current=False)
    try:
        ids = list(
            Account.objects.filter(is_active=True).order_by("pk").values_list("cloudflare_id", flat=True)
        )
        _prepare_sandbox(sandbox, ids, latency_ms)
        reset_spending_limit_ages()
        # Each run is a sweep of its own: without this, a run in the same 5-minute slot as the previous one
        # would be refused as "already swept this slot" (as it should be in production).
        SweepSlot.objects.all().delete()
        env = _capacity_env(database_url, redis_url, sandbox, token)
        processes = _start_workers(workers, queue, env, app)
        mark = timezone.now()
        started = time.time()
        app.send_task("billing.tasks.sync_balances", queue=queue)
        ours = SyncRun.objects.filter(started_at__gte=mark, job__in=[SyncJob.BALANCE, SyncJob.SPENDING_LIMIT])
        timed_out = _wait_for_sweep(ours, len(ids), timeout)
        last = ours.aggregate(last=Max("finished_at"))["last"]
        wall = (last.timestamp() - started) if last else float("nan")
        memory = _worker_memory(processes)
        result = {
            "workers": workers,
            "accounts": len(ids),
            "latency_ms": latency_ms,
            "wall_s": round(wall, 2),
            "timed_out": timed_out,
            **_api_figures(sandbox, minimum=len(ids)),
            **_run_figures(ours),
            "worker_memory": memory,
        }
        _print_run(result)
        return result
    finally:
        for process in processes:
            stop_process(process)
        sandbox.stop()
        app.close()


def usage_run(accounts: int, latency_ms: int, database_url: str, redis_url: str, timeout: float) -> dict:
    """One slice of the usage sweep (`billing.tasks.sync_usage`, as beat sends it every 5 minutes) with the
    first `accounts` accounts active, by one worker against a fresh sandbox: how many accounts the slice
    holds, and its calls by kind (billed usage, gateways, GraphQL analytics)."""
    from celery import Celery
    from django.utils import timezone

    from billing.models import Account, SweepSlot, SyncJob, SyncRun

    token = f"bench-usage-{uuid.uuid4().hex}"
    queue = f"bench-usage-{uuid.uuid4().hex[:8]}"
    sandbox = Sandbox(token=token, rate_limit=f"{RATE_LIMIT}/{RATE_PERIOD}")
    app = Celery("bench-usage", broker=redis_url, set_as_current=False)
    processes: list[subprocess.Popen] = []
    active = list(Account.objects.filter(is_active=True).order_by("pk"))
    keep = active[:accounts]
    Account.objects.filter(pk__in=[a.pk for a in active[accounts:]]).update(is_active=False)
    try:
        _prepare_sandbox(sandbox, [a.cloudflare_id for a in keep], latency_ms)
        env = bench_env(
            database_url,
            redis_url,
            CLOUDFLARE_API_BASE_URL=sandbox.base_url,
            CLOUDFLARE_API_TOKEN=token,
            SYNC_SWEEP_SPREAD="0",  # the slice's calls per account, not its pace
        )
        processes = _start_workers(1, queue, env, app)
        SweepSlot.objects.filter(job=SyncJob.USAGE).delete()
        mark, started = timezone.now(), time.time()
        app.send_task("billing.tasks.sync_usage", queue=queue)
        ours = SyncRun.objects.filter(started_at__gte=mark)
        in_slice, timed_out = _wait_for_slice(ours, [a.pk for a in keep], timeout)
        api = [e for e in sandbox.requests() if e["path"].startswith("/client/v4/")]
        statuses = [str(e["status"]) for e in api]
        busiest = max_in_window([e["time"] for e in api], RATE_PERIOD)
        result = {
            "accounts": len(keep),
            "slice_accounts": in_slice,
            "wall_s": round(time.time() - started, 2),
            "timed_out": timed_out,
            "api_calls": len(api),
            "graphql_calls": sum(1 for e in api if e["path"].endswith("/graphql")),
            "usage_calls": sum(1 for e in api if e["path"].endswith("/usage-history")),
            "gateway_calls": sum(1 for e in api if "/ai-gateway/gateways" in e["path"]),
            "http_429": statuses.count("429"),
            "max_per_300s": busiest,
            "budget_held": statuses.count("429") == 0 and busiest <= RATE_LIMIT,
            **_run_figures(ours),
        }
        print(f"  usage slice: {result}", file=sys.stderr, flush=True)
        return result
    finally:
        Account.objects.filter(pk__in=[a.pk for a in active[accounts:]]).update(is_active=True)
        for process in processes:
            stop_process(process)
        sandbox.stop()
        app.close()


def _wait_for_slice(ours, ids: list[int], timeout: float) -> tuple[int, bool]:
    """Waits until every account of the slot's usage slice has its analytics run finished; returns how many
    accounts the slice holds (from the slot the worker claimed) and whether the wait timed out."""
    from billing import sync
    from billing.models import SweepSlot, SyncJob

    deadline = time.monotonic() + timeout
    expected = None
    while time.monotonic() < deadline:
        if expected is None:
            slot = SweepSlot.objects.filter(job=SyncJob.USAGE).first()
            if slot is not None:
                expected = len(sync.sweep_account_ids(SyncJob.USAGE, slot.slot_start, ids))
        if expected is not None:
            done = ours.filter(job=SyncJob.GATEWAY_SPEND).exclude(outcome="running").count()
            if done >= expected and not ours.filter(outcome="running").exists():
                return expected, False
        time.sleep(0.2)
    return expected or 0, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep")
    parser.add_argument("--database-url", required=True, help="the sweep's own database (it is re-seeded)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument(
        "--usage-accounts",
        type=int,
        default=1000,
        help="active accounts while one slice of the usage sweep runs (4 calls per account of the slice, "
        "one of them GraphQL; 0 skips it)",
    )
    parser.add_argument(
        "--hour-accounts",
        type=int,
        default=1000,
        help="accounts of the simulated hour of balance and usage sweeps (its busiest 300 s; 0 skips it)",
    )
    args = parser.parse_args(argv)

    seed_out = Path(args.out).with_suffix(".seed.json")
    run_python(
        [
            "-m",
            "bench.seed",
            "--sweep",
            "--database-url",
            args.database_url,
            "--accounts",
            str(args.accounts),
            "--out",
            str(seed_out),
        ],
        env=bench_env(args.database_url),
    )
    os.environ.update(bench_env(args.database_url, args.redis_url))
    import django

    django.setup()
    result = {"database": db_kind(args.database_url), "seed": json.loads(seed_out.read_text()), "runs": []}
    for workers in [int(w) for w in args.workers.split(",") if w]:
        result["runs"].append(
            one_run(workers, args.accounts, args.latency_ms, args.database_url, args.redis_url, args.timeout)
        )
    if args.usage_accounts:
        accounts = min(args.usage_accounts, args.accounts)
        result["usage_sweep"] = usage_run(
            accounts, args.latency_ms, args.database_url, args.redis_url, args.timeout
        )
    if args.hour_accounts:
        from bench.sweep_hour import hour_run

        result["hour"] = hour_run(min(args.hour_accounts, args.accounts))
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
