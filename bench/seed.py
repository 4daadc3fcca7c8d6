"""Seeds a benchmark database from scratch: drop, migrate, then bulk-load a portal's worth of history.

    python -m bench.seed [--database-url URL] [--accounts 200] [--sweep]

Page data (default): N accounts with a year of hourly usage (window=hour) and the day rows sync keeps beside
them (window=day, each the sum of its UTC day's hours), 90 days of 5-minute balance snapshots, invoices, an
upcoming-invoice preview, top-ups, auto top-up configs, spending limits, 30 days of SyncRun rows as the beat
schedule leaves them (balance every 5 min, usage and spending limit hourly, invoices every 6 h), a few alert
events, and three people: `bench-super` (superuser), `bench-ten` (admin of 10 accounts) and `bench-all`
(admin of every account, granted one by one). `--sweep` seeds the light database of the sync benchmark
instead: accounts in the steady state of the 5-minute sweep (one snapshot, spending limits fetched within the
last hour).

The big tables are written with executemany on SQLite and COPY on PostgreSQL, from integer arithmetic
(amounts in micro-dollars, formatted to six places) so no float ever becomes money. The database named by
DATABASE_URL is dropped first: only the benchmark's own databases are accepted (see bench.common).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SQLITE_URL, VAR, bench_env, db_kind, recreate_database
from bench.seed_bulk import Loader, timed
from bench.seed_gateways import seed_gateways
from bench.seed_history import (
    SNAPSHOT_COLUMNS,
    SYNC_RUN_COLUMNS,
    USAGE_COLUMNS,
    TopUpHistory,
    account_profile,
    balance_snapshot_rows,
    sync_run_rows,
    usage_history,
    usage_rows,
)
from bench.seed_statements import seed_statements
from bench.seed_tables import seed_people, seed_small_tables

TEAM_WORDS = ["Prod", "Staging", "Labs", "Research", "Search", "Support", "Agents", "Mobile", "Data", "Edge"]


def account_cloudflare_id(index: int, sweep: bool = False) -> str:
    return f"{'5e' if sweep else 'be'}{index:030x}"


def seed_pages(accounts: int, usage_days: int, snapshot_days: int, sync_run_days: int, seed: int) -> dict:
    """The page benchmark's data; returns counts and timings."""
    from django.db import transaction

    from billing import models as m

    rng = random.Random(seed)
    now = datetime.now(UTC)
    loader = Loader()
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    ids = _create_accounts(rng, accounts)
    profiles = [account_profile(rng, i) for i in range(accounts)]
    usage = usage_history(profiles, seed, now, usage_days)

    rows = usage_rows(loader, ids, usage, now)
    with timed("usage rows", timings), transaction.atomic():
        counts["usage_records"] = loader.load(m.UsageRecord, USAGE_COLUMNS, rows)
    topups = TopUpHistory()
    rows = balance_snapshot_rows(loader, ids, profiles, usage, now, snapshot_days, topups)
    with timed("balance snapshots", timings), transaction.atomic():
        counts["balance_snapshots"] = loader.load(m.BalanceSnapshot, SNAPSHOT_COLUMNS, rows)
    rows = sync_run_rows(loader, ids, now, sync_run_days)
    with timed("sync runs", timings), transaction.atomic():
        counts["sync_runs"] = loader.load(m.SyncRun, SYNC_RUN_COLUMNS, rows)
    with timed("invoices, top-ups, configs, people", timings), transaction.atomic():
        # The top-ups exist only once the snapshot rows above have been read.
        counts.update(seed_small_tables(ids, profiles, now, topups))
        counts["people"] = seed_people(ids)
    with timed("gateways and their spend", timings), transaction.atomic():
        counts.update(seed_gateways(loader, ids, now, seed))
    with timed("ledger", timings):
        counts["ledger_days"] = _seed_ledger(ids, now)
    with timed("usage invoice lines and cost centers", timings), transaction.atomic():
        counts.update(seed_statements(ids, now, seed))

    _analyze(loader)
    return {
        "counts": counts,
        "timings": timings,
        "rows": loader.rows,
        "sample_account": account_cloudflare_id(0),
        "now": now.isoformat(),
    }


def _seed_ledger(ids: list[int], now: datetime) -> int:
    """The ledger as the syncs leave it: 13 months of days for the measured account (days before its
    snapshots have no balance reading), the unsettled days for every other one."""
    from billing.figures import ledger
    from billing.models import Account

    measured = Account.objects.get(cloudflare_id=account_cloudflare_id(0))
    built = ledger.rebuild(measured, now, since=(now - timedelta(days=400)).date())
    unsettled = (now - timedelta(days=3)).date()
    others = Account.objects.filter(pk__in=ids).exclude(pk=measured.pk)
    return built + sum(ledger.rebuild(account, now, since=unsettled) for account in others)


def _create_accounts(rng: random.Random, accounts: int) -> list[int]:
    """Creates the page benchmark's accounts; returns their primary keys in order."""
    from django.db import transaction

    from billing import models as m

    with transaction.atomic():
        rows = [
            m.Account(cloudflare_id=account_cloudflare_id(i), name=f"Team {i:03d} {rng.choice(TEAM_WORDS)}")
            for i in range(accounts)
        ]
        created = m.Account.objects.bulk_create(rows)
        ids = [a.pk for a in created]
        if not all(ids):
            ids = list(m.Account.objects.order_by("pk").values_list("pk", flat=True))
    return ids


def seed_sweep(accounts: int) -> dict:
    """The sync benchmark's accounts, as the 5-minute sweep finds them in its steady state."""
    from django.db import transaction

    from billing import models as m

    now = datetime.now(UTC)
    timings: dict[str, float] = {}
    with timed("sweep accounts", timings), transaction.atomic():
        created = m.Account.objects.bulk_create(
            [
                m.Account(cloudflare_id=account_cloudflare_id(i, sweep=True), name=f"Sweep {i:04d}")
                for i in range(accounts)
            ]
        )
        ids = (
            [a.pk for a in created]
            if all(a.pk for a in created)
            else list(m.Account.objects.order_by("pk").values_list("pk", flat=True))
        )
        m.BalanceSnapshot.objects.bulk_create(
            [
                m.BalanceSnapshot(
                    account_id=pk,
                    taken_at=now - timedelta(minutes=5),
                    balance=500,
                    has_default_payment_method=True,
                )
                for pk in ids
            ],
            batch_size=2000,
        )
        m.SyncRun.objects.bulk_create(
            [
                m.SyncRun(
                    job=m.SyncJob.BALANCE,
                    account_id=pk,
                    started_at=now - timedelta(minutes=5),
                    finished_at=now - timedelta(minutes=5),
                    outcome="succeeded",
                    api_calls=1,
                )
                for pk in ids
            ],
            batch_size=2000,
        )
        m.SpendingLimit.objects.bulk_create(
            [m.SpendingLimit(account_id=pk, enabled=False, synced_at=now) for pk in ids], batch_size=2000
        )
    reset_spending_limit_ages()
    return {"counts": {"accounts": accounts}, "timings": timings}


def reset_spending_limit_ages(now: datetime | None = None) -> None:
    """Spreads the accounts' spending-limit fetches evenly over the hour before `now` (default: now), as
    hourly refreshes leave them, so each sweep run starts from the same steady state (about a tenth of the
    limits due)."""
    from django.db import transaction

    from billing.models import SpendingLimit

    now = now or datetime.now(UTC)
    rows = list(SpendingLimit.objects.order_by("account_id"))
    for i, row in enumerate(rows):
        row.synced_at = now - timedelta(seconds=3600 * i / max(len(rows), 1))
    with transaction.atomic():
        SpendingLimit.objects.bulk_update(rows, ["synced_at"], batch_size=1000)


def _analyze(loader: Loader) -> None:
    """Fresh planner statistics and, on PostgreSQL, the visibility map (index-only scans read no heap page
    where it says so), as autovacuum would have them on a database that grew slowly."""
    with loader.connection.cursor() as cursor:
        cursor.execute("ANALYZE" if loader.vendor == "sqlite" else "VACUUM (ANALYZE)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", SQLITE_URL))
    parser.add_argument("--accounts", type=int, default=None, help="default 200 (1,000 with --sweep)")
    parser.add_argument("--usage-days", type=int, default=365)
    parser.add_argument("--snapshot-days", type=int, default=90)
    parser.add_argument("--sync-run-days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--sweep", action="store_true", help="seed the sync benchmark's accounts instead")
    parser.add_argument("--out", help="write the seeding report (JSON) here")
    args = parser.parse_args(argv)
    accounts = args.accounts or (1000 if args.sweep else 200)

    os.environ.update(bench_env(args.database_url))
    started = time.perf_counter()
    recreate_database(args.database_url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    print(
        f"seeding {db_kind(args.database_url)} ({'sweep' if args.sweep else 'pages'}, {accounts} accounts)",
        file=sys.stderr,
    )
    if args.sweep:
        report = seed_sweep(accounts)
    else:
        report = seed_pages(accounts, args.usage_days, args.snapshot_days, args.sync_run_days, args.seed)
    report.update(
        database=db_kind(args.database_url),
        accounts=accounts,
        migrate_seconds=round(migrated - started, 2),
        seed_seconds=round(time.perf_counter() - migrated, 2),
    )
    print(
        f"  seeded in {report['seed_seconds']:.1f} s (+ {report['migrate_seconds']:.1f} s migrate)",
        file=sys.stderr,
    )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    else:
        VAR.mkdir(parents=True, exist_ok=True)
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
