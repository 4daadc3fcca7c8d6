"""The sweep parts of docs/benchmarks.md: the balance sweeps by 1, 2 and 4 workers, the request budget, and
the simulated hour of the whole schedule."""

from __future__ import annotations

from bench.report_format import Measure
from bench.report_format import table as _table


def sweep_wall(workers: int) -> Measure:
    def measure(r: dict) -> tuple[str, bool | None]:
        runs = [x for x in (r.get("sweep") or {}).get("runs", []) if x["workers"] == workers]
        if not runs:
            return "not run", None
        x = runs[0]
        ok = x["wall_s"] < 30 and not x["timed_out"] and x["runs"]["failed"] == 0
        # A smaller sweep than the 1,000 accounts says nothing about its target.
        return f"{x['wall_s']:.1f} s ({x['accounts']} accounts)", ok if x["accounts"] >= 1000 else None

    return measure


def request_budget(r: dict) -> tuple[str, bool | None]:
    runs = (r.get("sweep") or {}).get("runs", [])
    if not runs:
        return "not run", None
    worst = max(x["max_per_300s"] for x in runs)
    n429 = sum(x["http_429"] for x in runs)
    text, held = f"max {worst} per 300 s, {n429} × 429", all(x["budget_held"] for x in runs)
    usage = (r.get("sweep") or {}).get("usage_sweep")
    if usage:
        u = usage
        text += (
            f"; a usage slice ({u.get('slice_accounts', '?')} of {u['accounts']} accounts): "
            f"{u['api_calls']} calls ({u['graphql_calls']} GraphQL, "
            f"{u['usage_calls']} usage, {u['gateway_calls']} gateways), max {u['max_per_300s']} per 300 s, "
            f"{u['http_429']} × 429"
        )
        held = held and usage["budget_held"] and not usage["timed_out"]
    hour = (r.get("sweep") or {}).get("hour")
    if hour:
        text += (
            f"; a simulated hour at {hour['accounts']} accounts ({hour['unhealthy_accounts']} unhealthy): "
            f"max {hour['max_per_300s']} per 300 s"
        )
        held = held and hour["budget_held"] and hour["accounts"] >= 1000
    return text, held


def celery_rss(r: dict) -> tuple[str, bool | None]:
    runs = (r.get("sweep") or {}).get("runs", [])
    values = [mb for x in runs for w in x["worker_memory"] for mb in [w["main_mb"], *w["pool_mb"]]]
    return (f"{max(values):.0f} MB", None) if values else ("not run", None)


SWEEP_HEADER = [
    "Workers",
    "Accounts",
    "Wall s",
    "API calls",
    "Minimum",
    "Balance / limit calls",
    "Max per 300 s",
    "429s",
    "Budget held",
    "Runs ok / failed",
    "Worker peak RSS MB (main; pool)",
]


def _sweep_row(x: dict) -> list[str]:
    return [
        x["workers"],
        x["accounts"],
        f"{x['wall_s']:.1f}" + (" (timed out)" if x["timed_out"] else ""),
        x["api_calls"],
        x["minimum_calls"],
        f"{x['balance_calls']} / {x['spending_limit_calls']}",
        x["max_per_300s"],
        x["http_429"],
        "yes" if x["budget_held"] else "**no**",
        f"{x['runs']['succeeded']} / {x['runs']['failed']}",
        "; ".join(
            f"{w['main_mb']:.0f}; {'/'.join(f'{p:.0f}' for p in w['pool_mb'])}" for w in x["worker_memory"]
        ),
    ]


def sweep_section(sweep: dict) -> list[str]:
    lines = [
        f"### Balance sweep against the sandbox ({sweep['runs'][0]['latency_ms']} ms per request)",
        "",
        *_table(SWEEP_HEADER, [_sweep_row(x) for x in sweep["runs"]]),
        "Each worker is a `celery worker --concurrency 1` process on Redis; a sweep is one "
        "`sync_balances` message that fans out chunks of `SYNC_CHUNK_SIZE` accounts, each run on "
        "`SYNC_THREADS` threads. The minimum is one call per account (the balance answer carries "
        "the auto top-up config); the rest are spending-limit refreshes, due for about a tenth of "
        "the accounts in the steady state the database is reset to before each run. Every run has a "
        "fresh sandbox and token, so neither the sandbox's limit nor the portal's Redis budget "
        "carries over.",
        "",
    ]
    errors = sorted({e for x in sweep["runs"] for e in x["errors"]})
    if errors:
        lines += ["Errors recorded by the runs: " + "; ".join(f"`{e[:160]}`" for e in errors), ""]
    return lines


HOUR_KINDS = (
    ("balance", "Balance"),
    ("spending_limit", "Spending limit"),
    ("topup_limits", "Top-up range"),
    ("usage", "Usage"),
    ("graphql", "GraphQL"),
    ("gateways", "Gateways"),
    ("invoices", "Invoices"),
)


def hour_section(hour: dict) -> list[str]:
    rows = [
        [index, tick["requests"], *(tick.get(kind, 0) for kind, _ in HOUR_KINDS)]
        for index, tick in enumerate(hour["per_tick"], start=1)
    ]
    return [
        f"### A simulated hour of the schedule at {hour['accounts']} accounts",
        "",
        f"Busiest 300 s: **{hour['max_per_300s']}** requests (budget {hour['budget']}: "
        f"{'held' if hour['budget_held'] else '**not held**'}); {hour['requests']} requests in the hour, "
        f"{hour['unhealthy_accounts']} accounts unhealthy (fetched every sweep); {hour['wall_s']:.0f} s of "
        "real time (bench/sweep_hour.py).",
        "",
        *_table(["Tick (5 min)", "Requests", *(label for _, label in HOUR_KINDS)], rows),
        "Each tick is the beat's balance sweep, its usage slice and its invoice slice (`sync_balances`, "
        "`sync_usage`, `sync_invoices`) at that simulated moment, with each chunk they send run at the "
        "moment its countdown names (the sweep's pace: `SYNC_SWEEP_SPREAD` of the slot) and the portal's "
        "clock moved; the busiest 300 s is a sliding window over every request's simulated moment, so "
        "it may span the end of one tick and the start of the next. The sandbox's limit and the "
        "portal's own budget are lifted: the figure is what the schedule asks for.",
        "",
    ]
