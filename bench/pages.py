"""Page benchmark on a seeded database: latency in-process and through gunicorn, SQL queries per page for
10 and 200 accounts, API calls per page view, and the peak memory of a web worker.

    python -m bench.pages --database-url URL --out result.json [--repeat 40] [--http-requests 480]

Runs in its own process (run.py starts it once per database): Django is set up here with the benchmark's
production settings, the Cloudflare API points at a sandbox whose request log shows any call a page makes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    Sandbox,
    bench_env,
    children_of,
    db_kind,
    free_port,
    percentile,
    proc_status_kb,
    stop_process,
    wait_for_http,
)
from bench.page_profiles import profile_pages as _profile_pages

# Targets of the issue (ms, p95), by page family.
TARGET_OVERVIEW_MS = 50
TARGET_ACCOUNT_MS = 100
TARGET_PERIOD_MS = 150  # the reconciliation and the statement (issue 21)


def page_list(cloudflare_id: str) -> list[dict]:
    """The pages measured: name, path, target (ms) and what the target is for."""
    from django.utils import timezone

    today = timezone.localdate()

    def usage(window: str, days: int, csv: bool = False) -> str:
        start = today - timedelta(days=days - 1)
        query = f"window={window}&start={start:%Y-%m-%d}&end={today:%Y-%m-%d}" + (
            "&format=csv" if csv else ""
        )
        return f"/accounts/{cloudflare_id}/usage/?{query}"

    base = f"/accounts/{cloudflare_id}/"
    return [
        {"name": "overview", "path": "/", "target_ms": TARGET_OVERVIEW_MS},
        {"name": "account", "path": base, "target_ms": TARGET_ACCOUNT_MS},
        {"name": "usage day 30 d", "path": usage("day", 30), "target_ms": TARGET_ACCOUNT_MS},
        {"name": "usage day 365 d", "path": usage("day", 365), "target_ms": TARGET_ACCOUNT_MS},
        {"name": "usage hour 30 d", "path": usage("hour", 30), "target_ms": TARGET_ACCOUNT_MS},
        {"name": "usage hour 365 d", "path": usage("hour", 365), "target_ms": TARGET_ACCOUNT_MS},
        {"name": "invoices", "path": base + "invoices/", "target_ms": TARGET_ACCOUNT_MS},
        {"name": "CSV day 365 d", "path": usage("day", 365, csv=True), "target_ms": TARGET_ACCOUNT_MS},
        {"name": "CSV hour 365 d", "path": usage("hour", 365, csv=True), "target_ms": TARGET_ACCOUNT_MS},
        {"name": "gateways", "path": base + "gateways/", "target_ms": TARGET_ACCOUNT_MS},
        {
            "name": "breakdown 7 d",
            "path": base + "gateways/breakdown/?range=7d",
            "target_ms": TARGET_ACCOUNT_MS,
        },
        {
            "name": "breakdown 90 d",
            "path": base + "gateways/breakdown/?range=90d",
            "target_ms": TARGET_ACCOUNT_MS,
        },
        {"name": "ledger 13 months", "path": base + "ledger/", "target_ms": TARGET_ACCOUNT_MS},
        {"name": "ledger CSV", "path": base + "ledger/?format=csv", "target_ms": TARGET_ACCOUNT_MS},
        {"name": "ledger print", "path": base + "ledger/print/", "target_ms": TARGET_ACCOUNT_MS},
        {
            "name": "breakdown CSV 30 d",
            "path": base + "gateways/breakdown/?range=30d&format=csv",
            "target_ms": TARGET_ACCOUNT_MS,
        },
        {"name": "reconciliation", "path": base + "reconciliation/", "target_ms": TARGET_PERIOD_MS},
        {"name": "statement", "path": base + "statement/", "target_ms": TARGET_PERIOD_MS},
    ]


def _client(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _get(client, path: str) -> bytes:
    """The body of a GET, read to the end (a streamed CSV is written while it is read, so that is timed)."""
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return b"".join(response.streaming_content) if response.streaming else response.content


def in_process(pages: list[dict], repeat: int, warmup: int, max_seconds: float = 20.0) -> dict:
    """p50/p95 per page for the superuser (200 accounts), plus the person with 10 accounts on the overview.

    A page stops after `repeat` requests, or after `max_seconds` once it has 10, so a very slow page cannot
    stretch the run."""
    results = {}
    people = [("bench-super", pages)]
    people.append(("bench-ten", [dict(pages[0], name="overview (10 accounts)", target_ms=None)]))
    for username, measured in people:
        client = _client(username)
        for page in measured:
            for _ in range(warmup):
                _get(client, page["path"])
            times = []
            size = 0
            budget = time.perf_counter() + max_seconds
            for _ in range(repeat):
                if len(times) >= 10 and time.perf_counter() > budget:
                    break
                started = time.perf_counter()
                body = _get(client, page["path"])
                times.append((time.perf_counter() - started) * 1000)
                size = len(body)
            results[page["name"]] = {
                "user": username,
                "path": page["path"],
                "p50_ms": round(percentile(times, 0.50), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
                "samples": len(times),
                "bytes": size,
                "target_ms": page["target_ms"],
            }
            print(
                f"  {page['name']:<24} p50 {results[page['name']]['p50_ms']:7.1f} ms  "
                f"p95 {results[page['name']]['p95_ms']:7.1f} ms",
                file=sys.stderr,
                flush=True,
            )
    return results


def query_counts(pages: list[dict]) -> dict:
    """SQL queries (and their time) per page for people who see 200 and 10 accounts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people = {"bench-super": "superuser (200)", "bench-all": "admin of 200", "bench-ten": "admin of 10"}
    counts: dict[str, dict] = {}
    for username, label in people.items():
        client = _client(username)
        for page in pages:
            _get(client, page["path"])
            with CaptureQueriesContext(connection) as captured:
                _get(client, page["path"])
            entry = counts.setdefault(page["name"], {})
            entry[label] = len(captured.captured_queries)
            entry[label + " sql ms"] = round(
                sum(float(q["time"]) for q in captured.captured_queries) * 1000, 1
            )
    for entry in counts.values():
        # The same code path with 10 and with 200 accounts (a superuser skips the grant checks).
        entry["equal"] = entry["admin of 10"] == entry["admin of 200"]
    return counts


# --- through gunicorn --------------------------------------------------------------------------------------
def _session_cookie(username: str) -> str:
    from django.conf import settings

    return _client(username).cookies[settings.SESSION_COOKIE_NAME].value


def _start_gunicorn(env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    """Starts gunicorn with `workers` sync workers on a free port; returns the process and its root URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    return process, f"http://127.0.0.1:{port}"


def _client_thread(
    root: str,
    cookie: str,
    pages: list[dict],
    offset: int,
    requests_count: int,
    barrier: threading.Barrier,
    latencies: dict[str, list[float]],
    errors: list[str],
) -> None:
    """One concurrent client: a warm-up round, then `requests_count` timed requests over the pages."""
    import requests
    from django.conf import settings

    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, cookie)
    for page in pages:  # one warm-up round per client: imports, templates, connections
        session.get(root + page["path"], timeout=60)
    barrier.wait()
    for i in range(requests_count):
        page = pages[(offset + i) % len(pages)]
        started = time.perf_counter()
        response = session.get(root + page["path"], timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            errors.append(f"{page['path']}: {response.status_code}")
        latencies[page["name"]].append(elapsed)
    session.close()


def _concurrency_level(root: str, cookie: str, pages: list[dict], clients: int, total: int) -> dict:
    """`total` requests shared by `clients` client threads started together; latencies and throughput."""
    latencies: dict[str, list[float]] = {p["name"]: [] for p in pages}
    errors: list[str] = []
    per_client = max(1, total // clients)
    barrier = threading.Barrier(clients)
    threads = [
        threading.Thread(
            target=_client_thread, args=(root, cookie, pages, n, per_client, barrier, latencies, errors)
        )
        for n in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done = sum(len(v) for v in latencies.values())
    print(
        f"  gunicorn, {clients} clients: {done} requests in {wall:.1f} s ({done / wall:.1f}/s), "
        f"{len(errors)} errors",
        file=sys.stderr,
        flush=True,
    )
    return {
        "clients": clients,
        "requests": done,
        "errors": errors[:5],
        "error_count": len(errors),
        "wall_s": round(wall, 2),
        "requests_per_s": round(done / wall, 1),
        "pages": {
            name: {
                "p50_ms": round(percentile(v, 0.5), 1),
                "p95_ms": round(percentile(v, 0.95), 1),
                "samples": len(v),
            }
            for name, v in latencies.items()
        },
    }


def through_gunicorn(pages: list[dict], env: dict, clients_list: list[int], total: int, workers: int) -> dict:
    """Starts gunicorn (`workers` sync workers), runs `total` requests per concurrency level over the pages,
    each client thread with its own keep-alive requests.Session; returns latencies, throughput and RSS."""
    process, root = _start_gunicorn(env, workers)
    out: dict = {"workers": workers, "levels": {}}
    try:
        wait_for_http(root + "/healthz", timeout=60, process=process)
        cookie = _session_cookie("bench-super")
        for clients in clients_list:
            out["levels"][str(clients)] = _concurrency_level(root, cookie, pages, clients, total)
        worker_pids = children_of(process.pid)
        out["worker_peak_rss_mb"] = [
            round((proc_status_kb(pid, "VmHWM") or 0) / 1024, 1) for pid in worker_pids
        ]
        out["master_peak_rss_mb"] = round((proc_status_kb(process.pid, "VmHWM") or 0) / 1024, 1)
    finally:
        stop_process(process)
    return out


def _sweep_just_finished() -> dict:
    """A successful balance run for every account a minute ago, and the figures each run stores
    (billing.figures.refresh_summaries), as the 5-minute sweep leaves them, so the pages show the steady state
    (fresh data) however long ago the database was seeded. Returns how long storing the figures took."""
    from django.utils import timezone

    from billing.figures import refresh_balance, refresh_summaries
    from billing.models import Account, SyncJob, SyncRun

    moment = timezone.now() - timedelta(minutes=1)
    ids = list(Account.objects.values_list("pk", flat=True))
    SyncRun.objects.bulk_create(
        [
            SyncRun(
                job=SyncJob.BALANCE, account_id=pk, started_at=moment, finished_at=moment, outcome="succeeded"
            )
            for pk in ids
        ],
        batch_size=1000,
    )
    started = time.perf_counter()
    refresh_summaries(ids)
    together = time.perf_counter() - started
    # As sync does it: one account at a time, after its own fetch; in full after a usage or spending-limit
    # sync, the balance part only after a balance sync.
    sample = ids[:20]
    started = time.perf_counter()
    for pk in sample:
        refresh_summaries([pk])
    full = (time.perf_counter() - started) / max(len(sample), 1)
    started = time.perf_counter()
    for pk in sample:
        refresh_balance(pk, moment)
    balance = (time.perf_counter() - started) / max(len(sample), 1)
    return {
        "accounts": len(ids),
        "all_at_once_ms": round(together * 1000, 1),
        "one_account_ms": round(full * 1000, 2),
        "balance_only_ms": round(balance * 1000, 2),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--account",
        default="be000000000000000000000000000000",
        help="cloudflare id of the account whose pages are measured (granted to bench-ten)",
    )
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per page in-process")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--http-requests", type=int, default=360, help="requests per concurrency level")
    parser.add_argument("--http-clients", default="2,8", help="concurrency levels (client threads)")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="profile every page (default: the slow ones)")
    return parser


def _measure_pages(args: argparse.Namespace, pages: list[dict], sandbox: Sandbox, env: dict) -> dict:
    """In-process latency, query counts and gunicorn figures, with the API calls the page views made."""
    result: dict = {}
    api_before = len(sandbox.requests())
    print("in-process:", file=sys.stderr)
    result["in_process"] = in_process(pages, args.repeat, args.warmup)
    result["queries"] = query_counts(pages)
    api_in_process = len(sandbox.requests()) - api_before
    clients = [int(c) for c in args.http_clients.split(",") if c]
    result["gunicorn"] = through_gunicorn(pages, env, clients, args.http_requests, args.gunicorn_workers)
    page_views = sum(r["samples"] for r in result["in_process"].values()) + sum(
        level["requests"] for level in result["gunicorn"]["levels"].values()
    )
    api_calls = len(sandbox.requests()) - api_before
    result["api_calls"] = {
        "page_views": page_views,
        "calls": api_calls,
        "in_process_calls": api_in_process,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    sandbox = Sandbox(token="bench-pages-token")
    env = bench_env(
        args.database_url, CLOUDFLARE_API_BASE_URL=sandbox.base_url, CLOUDFLARE_API_TOKEN="bench-pages-token"
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    summaries = _sweep_just_finished()
    result: dict = {"database": db_kind(args.database_url), "summaries": summaries}
    try:
        pages = page_list(args.account)
        result.update(_measure_pages(args, pages, sandbox, env))
        result["profiles"] = _profile_pages(pages, result["in_process"], result["database"], args.profile)
    finally:
        sandbox.stop()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
