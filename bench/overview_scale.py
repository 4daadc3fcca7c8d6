"""The overview at 1,000 accounts: p95 latency in-process and the page's weight, on a database of its own.

    python -m bench.overview_scale [--accounts 1000] [--repeat 60] [--postgres]

Seeds a fresh SQLite database (accounts with a balance snapshot, stored figures and SyncRun rows as a sweep
leaves them; one in twenty with an open alert, one in fifty never synced), then fetches the overview as a
superuser who sees every account and writes the figures into docs/benchmarks.md between its markers. Targets:
p95 ≤ 40 ms and ≤ 300 KB (the page shows 50 rows at a time, what needs attention first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, VAR, bench_env, percentile

TARGET_MS = 40
TARGET_KB = 300
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- overview-1000 -->", "<!-- /overview-1000 -->"
PG_DATABASE = "bench_overview"


def _setup(database: Path, postgres: bool = False) -> None:
    """A fresh database: SQLite at `database`, or PostgreSQL's `bench_overview` on the local server."""
    if postgres:
        server = ["-h", "127.0.0.1", "-U", "postgres"]
        subprocess.run(["dropdb", *server, "--if-exists", PG_DATABASE], check=True)
        subprocess.run(["createdb", *server, PG_DATABASE], check=True)
        os.environ.update(bench_env(f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}"))
    else:
        database.unlink(missing_ok=True)
        os.environ.update(bench_env(f"sqlite:///{database}"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def seed(count: int) -> str:
    """`count` accounts as a sweep leaves them; returns the superuser's username."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from billing.figures.stored import refresh_summaries
    from billing.models import Account, AlertEvent, BalanceSnapshot, SyncJob, SyncOutcome, SyncRun

    now = timezone.now()
    accounts = Account.objects.bulk_create(
        Account(cloudflare_id=f"{n:032x}", name=f"Team {n:04d}") for n in range(count)
    )
    synced = [a for n, a in enumerate(accounts) if n % 50 != 7]
    BalanceSnapshot.objects.bulk_create(
        BalanceSnapshot(account=a, taken_at=now - timedelta(minutes=2), balance=Decimal(5 + n % 400))
        for n, a in enumerate(synced)
    )
    SyncRun.objects.bulk_create(
        SyncRun(
            job=SyncJob.BALANCE, account=a, started_at=now, finished_at=now, outcome=SyncOutcome.SUCCEEDED
        )
        for a in synced
    )
    AlertEvent.objects.bulk_create(
        AlertEvent(account=a, kind="low_balance", headline=f"Low balance: {a.name}", opened_at=now)
        for n, a in enumerate(accounts)
        if n % 20 == 3
    )
    refresh_summaries(accounts)
    user = get_user_model().objects.create_superuser("bench-overview", "o@example.com", "x")
    return user.get_username()


def measure(username: str, repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    for _ in range(5):
        client.get("/")
    timings, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    filtered = client.get("/", {"state": "attention"})
    return {
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "kb": round(size / 1024, 1),
        "attention_kb": round(len(filtered.content) / 1024, 1),
        "repeat": repeat,
    }


def record(accounts: int, figures: dict) -> None:
    """The figures, between the markers of docs/benchmarks.md (added at its end the first time)."""
    verdict = "met" if figures["p95_ms"] <= TARGET_MS and figures["kb"] <= TARGET_KB else "NOT met"
    block = "\n".join(
        [
            BEGIN,
            f"## Overview at {accounts:,} accounts",
            "",
            "`python -m bench.overview_scale` (part of `make bench`): SQLite, in-process, a superuser who "
            "sees every account; 50 rows a page (pagination), open alerts first, then stale data, then by "
            f"name. Load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores.",
            "",
            "| what | target | measured |",
            "|---|---|---|",
            f"| overview p95 (p50) | ≤ {TARGET_MS} ms | {figures['p95_ms']} ms ({figures['p50_ms']} ms) |",
            f"| overview weight | ≤ {TARGET_KB} KB | {figures['kb']} KB (filtered to what needs attention: "
            f"{figures['attention_kb']} KB) |",
            f"| verdict | | {verdict} |",
            END,
        ]
    )
    text = DOC.read_text()
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument(
        "--postgres", action="store_true", help="on the local PostgreSQL (printed, not recorded)"
    )
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    _setup(VAR / "overview.sqlite3", postgres=args.postgres)
    figures = measure(seed(args.accounts), args.repeat)
    print(json.dumps(figures), file=sys.stderr)
    if not args.postgres:
        record(args.accounts, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
