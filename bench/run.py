"""The benchmark of the billing portal, in one command: `make bench` (or `.venv/bin/python bench/run.py`).

For each database (SQLite and PostgreSQL by default) it seeds N accounts with a year of history
(bench/seed.py), measures the pages in-process and through gunicorn under concurrent clients
(bench/pages.py), the people page with 500 people (bench/people.py) and the API's endpoints (bench/api.py),
and runs a full balance sweep of 1,000 accounts against the sandbox with 100 ms latency by 1, 2 and 4 Celery
workers on Redis (bench/sweep.py). Results go to docs/benchmarks.md (and the raw figures to
var/bench/results.json). About 10-15 minutes on two cores with the defaults.

Needs: PostgreSQL at 127.0.0.1:5432 (user postgres; the databases `bench`, `bench_people` and `bench_sweep`
are dropped and created) and Redis at 127.0.0.1:6379 (database 9 only). Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.common import (
    DEFAULT_REDIS_URL,
    POSTGRES_PEOPLE_URL,
    POSTGRES_SWEEP_URL,
    POSTGRES_URL,
    ROOT,
    SQLITE_PEOPLE_URL,
    SQLITE_SWEEP_URL,
    SQLITE_URL,
    VAR,
    bench_env,
    run_python,
)

URLS = {"sqlite": (SQLITE_URL, SQLITE_SWEEP_URL), "postgresql": (POSTGRES_URL, POSTGRES_SWEEP_URL)}
PEOPLE_URLS = {"sqlite": SQLITE_PEOPLE_URL, "postgresql": POSTGRES_PEOPLE_URL}


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    import django

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {}
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    try:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3) as conn:
            versions["postgresql"] = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception as exc:  # reported, not fatal: PostgreSQL may simply not be wanted
        versions["postgresql"] = f"unavailable ({type(exc).__name__})"
    try:
        import redis

        redis_version = redis.Redis.from_url(DEFAULT_REDIS_URL).info("server")["redis_version"]
    except Exception as exc:
        redis_version = f"unavailable ({type(exc).__name__})"
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "database_versions": versions,
        "redis": redis_version,
        "load_start": _load(),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma separated: sqlite, postgresql"
    )
    parser.add_argument("--accounts", type=int, default=200, help="accounts of the page benchmark")
    parser.add_argument("--sweep-accounts", type=int, default=1000)
    parser.add_argument("--sweep-workers", default="1,2,4")
    parser.add_argument(
        "--hour-accounts",
        type=int,
        default=1000,
        help="accounts of the simulated hour of sweeps (bench/sweep_hour.py; 0 skips it: it takes long)",
    )
    parser.add_argument("--latency-ms", type=int, default=100, help="latency injected into every API request")
    parser.add_argument("--repeat", type=int, default=40, help="timed in-process requests per page")
    parser.add_argument(
        "--http-requests", type=int, default=360, help="gunicorn requests per concurrency level"
    )
    parser.add_argument("--http-clients", default="2,8", help="gunicorn concurrency levels")
    parser.add_argument(
        "--reuse-seed",
        action="store_true",
        help="keep the page database of the previous run (its seeding figures are reused)",
    )
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-people", action="store_true", help="skip the people page with many people")
    parser.add_argument("--people", type=int, default=500, help="people of the people page benchmark")
    parser.add_argument("--skip-api", action="store_true", help="skip the API endpoints (bench/api.py)")
    parser.add_argument("--profile", action="store_true", help="save a profile and query log of every page")
    parser.add_argument(
        "--before",
        default=str(ROOT / "bench" / "baseline.json"),
        help="earlier page figures to compare with in the report ('' for none)",
    )
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only write the report again from var/bench/results.json (e.g. after editing notes)",
    )
    return parser


def _seed_pages(db: str, pages_url: str, args: argparse.Namespace, entry: dict) -> None:
    """Seeds the page database (unless --reuse-seed finds one) and records the seeding figures."""
    seed_file = VAR / f"seed-{db}.json"
    if not (args.reuse_seed and seed_file.exists()):
        entry["load"]["seed"] = _load()
        command = ["-m", "bench.seed", "--database-url", pages_url, "--accounts", str(args.accounts)]
        run_python([*command, "--out", str(seed_file)], env=bench_env(pages_url))
    entry["seed"] = json.loads(seed_file.read_text())


def _measure_pages(db: str, pages_url: str, args: argparse.Namespace, entry: dict) -> None:
    entry["load"]["pages"] = _load()
    pages_file = VAR / f"pages-{db}.json"
    command = [
        "-m",
        "bench.pages",
        "--database-url",
        pages_url,
        "--out",
        str(pages_file),
        "--repeat",
        str(args.repeat),
        "--http-requests",
        str(args.http_requests),
        "--http-clients",
        args.http_clients,
    ]
    run_python(command + (["--profile"] if args.profile else []), env=bench_env(pages_url))
    entry["pages"] = json.loads(pages_file.read_text())


def _measure_people(db: str, args: argparse.Namespace, entry: dict) -> None:
    entry["load"]["people"] = _load()
    people_file = VAR / f"people-{db}.json"
    url = PEOPLE_URLS[db]
    command = ["-m", "bench.people", "--database-url", url, "--out", str(people_file)]
    run_python([*command, "--people", str(args.people), "--repeat", str(args.repeat)], env=bench_env(url))
    entry["people"] = json.loads(people_file.read_text())


def _measure_api(db: str, pages_url: str, args: argparse.Namespace, entry: dict) -> None:
    entry["load"]["api"] = _load()
    api_file = VAR / f"api-{db}.json"
    command = [
        "-m",
        "bench.api",
        "--database-url",
        pages_url,
        "--out",
        str(api_file),
        "--repeat",
        str(args.repeat),
    ]
    run_python(command, env=bench_env(pages_url))
    entry["api"] = json.loads(api_file.read_text())


def _measure_sweep(db: str, sweep_url: str, args: argparse.Namespace, entry: dict) -> None:
    entry["load"]["sweep"] = _load()
    sweep_file = VAR / f"sweep-{db}.json"
    run_python(
        [
            "-m",
            "bench.sweep",
            "--database-url",
            sweep_url,
            "--out",
            str(sweep_file),
            "--accounts",
            str(args.sweep_accounts),
            "--workers",
            args.sweep_workers,
            "--latency-ms",
            str(args.latency_ms),
            "--hour-accounts",
            str(args.hour_accounts),
        ],
        env=bench_env(sweep_url),
    )
    entry["sweep"] = json.loads(sweep_file.read_text())


def _benchmark_database(db: str, args: argparse.Namespace) -> dict:
    """One database's figures: seeding, pages and sweep, each unless skipped."""
    if db not in URLS:
        raise SystemExit(f"unknown database {db!r}: use sqlite or postgresql")
    pages_url, sweep_url = URLS[db]
    entry: dict = {"load": {}}
    print(f"== {db}", file=sys.stderr, flush=True)
    if not args.skip_pages:
        _seed_pages(db, pages_url, args, entry)
        _measure_pages(db, pages_url, args, entry)
        if not args.skip_api:
            _measure_api(db, pages_url, args, entry)
    if not args.skip_people:
        _measure_people(db, args, entry)
    if not args.skip_sweep:
        _measure_sweep(db, sweep_url, args, entry)
    return entry


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    before = json.loads(Path(args.before).read_text()) if args.before else None
    if args.report_only:
        results = json.loads((VAR / "results.json").read_text())
        results["before"] = before
        report.write(results, Path(args.output))
        return 0

    started = time.perf_counter()
    VAR.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "commit": _git("rev-parse", "--short=12", "HEAD"),
        "dirty": bool(_git("status", "--porcelain")),
        "command": "bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "databases": {},
        "before": before,
    }
    for db in [d.strip() for d in args.databases.split(",") if d.strip()]:
        results["databases"][db] = _benchmark_database(db, args)
    if not args.skip_pages:
        focus_file = VAR / "focus.json"
        run_python(
            ["-m", "bench.focus_export", "--accounts", str(args.accounts), "--out", str(focus_file)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        results["focus"] = json.loads(focus_file.read_text())
    results["load_end"] = _load()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    (VAR / "results.json").write_text(json.dumps(results, indent=2))
    report.write(results, Path(args.output))
    print(f"wrote {args.output} in {results['total_seconds'] / 60:.1f} min", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
