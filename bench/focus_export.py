"""Benchmark of issue 21's FOCUS export and totals: `python -m bench.focus_export` (also run by `make bench`).

Seeds its own SQLite database (var/bench/focus.sqlite3) with N accounts × 31 days (a day of billed usage and
12 analytics rows per day: 3 gateways × 4 models, and one paid top-up invoice each), then measures in-process:
the FOCUS export streamed to the end (seconds, rows, and the growth of the process's peak RSS, reset before
each run through /proc/self/clear_refs), for all accounts and for one (memory must not follow the row count);
the overview's p95 and the share of it spent on the totals; queries per page for people who see 10 and N
accounts; and API calls made by those views (requests are counted at requests' transport).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import VAR, bench_env, proc_status_kb

DB = VAR / "focus.sqlite3"
GATEWAYS = ("chat-app", "batch-jobs", "default")
MODELS = (("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4"), ("google", "g2"))
DAYS = 31


def _setup() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    DB.unlink(missing_ok=True)
    env = bench_env(f"sqlite:///{DB}", redis_url="", CELERY_BROKER_URL="filesystem://")
    env["REDIS_URL"] = ""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)


def _account_days(account, first: datetime, now: datetime, usage: list, spend: list) -> None:
    """One account's DAYS of billed usage and analytics rows (3 gateways × 4 models a day)."""
    from billing.models import GatewaySpendDay, UsageRecord, UsageWindow

    for offset in range(DAYS):
        day = first + timedelta(days=offset)
        usage.append(
            UsageRecord(
                account=account,
                window=UsageWindow.DAY,
                start=day,
                end=day + timedelta(days=1),
                summary_id=f"d{offset}",
                value=Decimal("9.87"),
                synced_at=now,
            )
        )
        spend.extend(
            GatewaySpendDay(
                account=account,
                day=day.date(),
                gateway=gateway,
                model=model,
                provider=provider,
                requests=100,
                cost=Decimal("0.8123"),
                synced_at=now,
            )
            for gateway in GATEWAYS
            for provider, model in MODELS
        )


def _seed(accounts: int, now: datetime) -> None:
    from django.contrib.auth import get_user_model

    from billing.figures import refresh_summaries
    from billing.models import (
        Account,
        AccountAccess,
        GatewaySpendDay,
        Invoice,
        Role,
        UsageRecord,
    )

    first = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = Account.objects.bulk_create(
        Account(cloudflare_id=f"{n:032x}", name=f"Team {n:03d}", monthly_budget=Decimal(300))
        for n in range(accounts)
    )
    User = get_user_model()
    User.objects.create_superuser("bench", "bench@example.com", "bench-pass")
    ten = User.objects.create_user("ten", "ten@example.com", "bench-pass")
    AccountAccess.objects.bulk_create(AccountAccess(user=ten, account=a, role=Role.VIEWER) for a in rows[:10])
    usage, spend, invoices = [], [], []
    for account in rows:
        _account_days(account, first, now, usage, spend)
        invoices.append(
            Invoice(
                account=account,
                invoice_id=f"in_{account.pk}",
                invoice_type="manual",
                amount_due=Decimal(105),
                amount_paid=Decimal(105),
                amount_remaining=Decimal(0),
                created=first + timedelta(days=3),
                status="paid",
                synced_at=now,
            )
        )
    UsageRecord.objects.bulk_create(usage, batch_size=2000)
    GatewaySpendDay.objects.bulk_create(spend, batch_size=2000)
    Invoice.objects.bulk_create(invoices)
    refresh_summaries(rows, now)


def _client(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _export(client, query: str) -> dict:
    """Streams the export to the end: seconds, rows, bytes and the peak RSS growth while it ran (MB)."""
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the resident set now
    before = proc_status_kb(os.getpid(), "VmRSS") or 0
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get("/exports/focus.csv" + query)
    lines = size = 0
    for chunk in response.streaming_content:  # a block of lines at a time (billing/views/csv_stream.py)
        lines += chunk.count(b"\n")
        size += len(chunk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = proc_status_kb(os.getpid(), "VmHWM") or 0
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "load": round(os.getloadavg()[0], 1),
        "rows": lines - 1,
        "mb": round(size / 1e6, 1),
        "rss_growth_mb": round((peak - before) / 1024, 1),
    }


def _p95(client, path: str, repeat: int) -> tuple[float, float]:
    """(p95 wall ms, p95 CPU ms) of `repeat` requests after three to warm up: on a shared machine the CPU
    time is the page's own cost, the wall time includes waiting for a core."""
    times, cpus = [], []
    for _ in range(repeat + 3):
        started, cpu = time.perf_counter(), time.process_time()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    times, cpus = sorted(times[3:]), sorted(cpus[3:])
    at = int(0.95 * (len(times) - 1))
    return round(times[at], 1), round(cpus[at], 1)


def _totals_ms(repeat: int) -> float:
    """Time of the totals alone (figures read → totals → panel), per overview, in ms."""
    from django.contrib.auth import get_user_model
    from django.template.loader import render_to_string

    from billing.figures import stored_figures_of_rows
    from billing.figures.totals import totals_of
    from billing.views.overview import overview_accounts

    person = get_user_model().objects.get(username="bench")
    figures = stored_figures_of_rows(overview_accounts(person))
    started = time.perf_counter()
    for _ in range(repeat):
        totals = totals_of(figures.values())
        render_to_string("billing/_totals.html", {"totals": totals})
    return round((time.perf_counter() - started) * 1000 / repeat, 2)


def _queries(path: str, username: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(username)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured.captured_queries)


def _count_api_calls() -> list[int]:
    import requests

    calls = [0]
    send = requests.adapters.HTTPAdapter.send

    def counting(self, *args, **kwargs):
        calls[0] += 1
        return send(self, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = counting  # type: ignore[method-assign]
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/focus_export.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--out", default=str(VAR / "focus.json"))
    args = parser.parse_args(argv)
    _setup()
    from django.utils import timezone

    now = timezone.now()
    _seed(args.accounts, now)
    calls = _count_api_calls()
    start = (now - timedelta(days=DAYS)).date()
    everything = f"?start={start}&end={now.date()}"
    client = _client("bench")
    result = {
        "accounts": args.accounts,
        "days": DAYS,
        "export_all": _export(client, everything),
        "export_one": _export(client, everything + f"&account={0:032x}"),
        "overview_p95_ms": _p95(client, "/", args.repeat)[0],
        "overview_p95_cpu_ms": _p95(client, "/", args.repeat)[1],
        "totals_ms": _totals_ms(args.repeat),
        "queries": {
            name: {"10": _queries(path, "ten"), str(args.accounts): _queries(path, "bench")}
            for name, path in (("overview", "/"), ("accounts_csv", "/exports/accounts.csv"))
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result["export_all_again"] = _export(client, everything)

    result["api_calls"] = calls[0]
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
