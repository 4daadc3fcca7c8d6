"""API benchmark on the seeded page database: p95 of every /api/v1/ endpoint in-process for a token of the
admin of all 200 accounts, and SQL queries per request for tokens of the admins of 10 and of 200.

    python -m bench.api --database-url URL --out result.json [--repeat 40]

Runs in its own process (run.py starts it after the pages): Django is set up with the benchmark's settings.
The tokens are made here (and those of an earlier run revoked); the rate limit is raised for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, percentile

TARGET_MS = 100
PEOPLE = {"bench-all": "admin of 200", "bench-ten": "admin of 10"}


def endpoint_list(cloudflare_id: str) -> list[dict]:
    base = f"/api/v1/accounts/{cloudflare_id}"
    return [
        {"name": "accounts", "path": "/api/v1/accounts"},
        {"name": "account", "path": base},
        {"name": "balance 30 d", "path": base + "/balance?days=30"},
        {"name": "usage day 30 d", "path": base + "/usage"},
        {"name": "usage hour 7 d", "path": base + "/usage?window=hour&start={week_ago}"},
        {"name": "spend 7 d by gateway", "path": base + "/spend"},
        {"name": "spend 90 d by model", "path": base + "/spend?range=90d&by=model,provider"},
        {"name": "invoices", "path": base + "/invoices"},
        {"name": "upcoming invoice", "path": base + "/invoices/upcoming"},
        {"name": "invoice", "path": base + "/invoices/{invoice_id}"},
        {"name": "usage invoice", "path": base + "/invoices/usage/{period}"},
        {"name": "reconciliation", "path": base + "/reconciliation"},
        {"name": "statement", "path": base + "/statement?period={period}"},
        {"name": "cost centers", "path": base + "/cost-centers"},
        {"name": "month", "path": base + "/month"},
        {"name": "totals", "path": "/api/v1/totals"},
        {"name": "ledger", "path": base + "/ledger"},
        {"name": "alerts", "path": base + "/alerts"},
    ]


def _named(cloudflare_id: str) -> dict[str, str]:
    """The newest invoice and billing period of the account the endpoints read, for the paths naming one."""
    from billing.models import Account, InvoiceLine

    account = Account.objects.get(cloudflare_id=cloudflare_id)
    invoice = account.invoices.first()
    periods = InvoiceLine.objects.periods(account)
    if invoice is None or not periods:
        raise RuntimeError(f"the seeded account {cloudflare_id} has no invoices or invoice lines")
    return {"invoice_id": invoice.invoice_id, "period": periods[0].slug}


def _tokens() -> dict[str, str]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from billing.api import tokens
    from billing.models import ApiToken

    people = get_user_model().objects.filter(username__in=PEOPLE)
    ApiToken.objects.filter(user__in=people, name="bench").update(revoked_at=timezone.now())
    return {person.username: tokens.create(user=person, name="bench", days=1)[1] for person in people}


def _get(client, path: str, secret: str) -> None:
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:200]!r}")


def latency(endpoints: list[dict], secret: str, repeat: int, warmup: int = 3) -> dict:
    from django.test import Client

    client = Client()
    results = {}
    for endpoint in endpoints:
        for _ in range(warmup):
            _get(client, endpoint["path"], secret)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            _get(client, endpoint["path"], secret)
            times.append((time.perf_counter() - started) * 1000)
        results[endpoint["name"]] = {
            "path": endpoint["path"],
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "samples": len(times),
            "target_ms": TARGET_MS,
        }
        print(f"  {endpoint['name']:<24} p95 {results[endpoint['name']]['p95_ms']:7.1f} ms", file=sys.stderr)
    return results


def query_counts(endpoints: list[dict], secrets: dict[str, str]) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts: dict[str, dict] = {}
    for username, label in PEOPLE.items():
        for endpoint in endpoints:
            _get(client, endpoint["path"], secrets[username])
            with CaptureQueriesContext(connection) as captured:
                _get(client, endpoint["path"], secrets[username])
            counts.setdefault(endpoint["name"], {})[label] = len(captured.captured_queries)
    for entry in counts.values():
        entry["equal"] = entry["admin of 10"] == entry["admin of 200"]
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--account", default="be000000000000000000000000000000", help="granted to bench-ten")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args(argv)
    os.environ.update(bench_env(args.database_url, API_RATE_LIMIT_PER_MINUTE="1000000"))
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    week_ago = f"{timezone.localdate() - timedelta(days=6):%Y-%m-%d}"
    named = _named(args.account)
    endpoints = [
        dict(e, path=e["path"].format(week_ago=week_ago, **named)) for e in endpoint_list(args.account)
    ]
    # The steady state the 5-minute sweep leaves (fresh runs, stored figures), as the pages are measured in
    # (done by bench/pages.py before this step in `make bench`; again here when this runs on its own).
    from bench.pages import _sweep_just_finished

    _sweep_just_finished()
    secrets = _tokens()
    print("API in-process (admin of 200):", file=sys.stderr)
    result = {
        "load": f"{os.getloadavg()[0]:.2f}",
        "in_process": latency(endpoints, secrets["bench-all"], args.repeat),
        "queries": query_counts(endpoints, secrets),
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
