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
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SQLITE_URL, VAR, bench_env, db_kind, recreate_database

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
TEN = 10
# Share of traffic per hour of the day, in percent (quiet nights, busy working hours).
HOUR_SHAPE = [
    40,
    35,
    30,
    30,
    30,
    35,
    45,
    60,
    85,
    110,
    130,
    140,
    140,
    135,
    140,
    145,
    140,
    130,
    110,
    90,
    75,
    65,
    55,
    45,
]


def account_cloudflare_id(index: int, sweep: bool = False) -> str:
    return f"{'5e' if sweep else 'be'}{index:030x}"


def micro_text(value: int) -> str:
    """Micro-dollars as a six-place decimal string (the precision of the money columns)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 1_000_000}.{value % 1_000_000:06d}"


class Loader:
    """Bulk insert of plain tuples: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.rows = 0
        if self.vendor == "sqlite":
            # A throw-away database: no fsync per commit, a big page cache while the indexes grow.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-400000")
                cursor.execute("PRAGMA temp_store=MEMORY")

    def when(self, moment: datetime) -> str:
        """A UTC instant as the column text each backend stores (naive UTC on SQLite, as Django writes)."""
        text = moment.replace(tzinfo=None).isoformat(" ")
        return text if self.vendor == "sqlite" else text + "+00:00"

    def grid(self, first: datetime, step: timedelta, count: int) -> list[str]:
        """`count` instants `step` apart from `first`, as column text (computed once for every account)."""
        suffix = "" if self.vendor == "sqlite" else "+00:00"
        base = first.replace(tzinfo=None)
        return [(base + k * step).isoformat(" ") + suffix for k in range(count)]

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of the table's indexes that no constraint owns."""
        with self.connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master"
                    " WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
                    " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                    [table],
                )
            return cursor.fetchall()

    def load(self, model, columns: list[str], rows) -> int:
        """Inserts the rows; the table's secondary indexes are dropped first and built once at the end."""
        table = model._meta.db_table
        indexes = self._secondary_indexes(table)
        with self.connection.cursor() as cursor:
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        count = self._insert(table, columns, rows)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # Django's foreign keys are deferred: check them now, or PostgreSQL refuses CREATE INDEX.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _, create in indexes:
                cursor.execute(create)
        return count

    def _insert(self, table: str, columns: list[str], rows) -> int:
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        self.connection.ensure_connection()
        raw = self.connection.connection
        if self.vendor == "sqlite":
            # Table and column names come from the models, never from input.
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 50_000:
                    raw.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                raw.executemany(sql, batch)
                count += len(batch)
        else:
            with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        self.rows += count
        return count


def _timer(label: str, timings: dict[str, float]):
    class _T:
        def __enter__(self):
            self.t = time.perf_counter()

        def __exit__(self, *exc):
            timings[label] = round(time.perf_counter() - self.t, 2)
            print(f"  {label}: {timings[label]:.1f} s", file=sys.stderr, flush=True)

    return _T()


def seed_pages(accounts: int, usage_days: int, snapshot_days: int, sync_run_days: int, seed: int) -> dict:
    """The page benchmark's data; returns counts and timings."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from billing import models as m

    rng = random.Random(seed)
    now = datetime.now(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    today = this_hour.replace(hour=0)
    loader = Loader()
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}

    with transaction.atomic():
        rows = [
            m.Account(cloudflare_id=account_cloudflare_id(i), name=f"Team {i:03d} {rng.choice(TEAM_WORDS)}")
            for i in range(accounts)
        ]
        created = m.Account.objects.bulk_create(rows)
        ids = [a.pk for a in created]
        if not all(ids):
            ids = list(m.Account.objects.order_by("pk").values_list("pk", flat=True))
    profiles = [_profile(rng, i) for i in range(accounts)]

    # Usage: hour rows for `usage_days`, and the day rows (sum of each UTC day's hours) beside them.
    first_hour = today - timedelta(days=usage_days - 1)
    hours = int((this_hour - first_hour) / HOUR) + 1
    hourly: list[list[int]] = []
    for p in profiles:
        r = random.Random(seed * 1000 + p["index"])
        series = []
        for h in range(hours):
            moment = first_hour + h * HOUR
            weekend = 60 if moment.weekday() >= 5 else 100
            series.append(p["rate"] * HOUR_SHAPE[moment.hour] * weekend * r.randint(70, 130) // 1_000_000)
        hourly.append(series)

    starts = loader.grid(first_hour, HOUR, hours + 1)
    synced_at = [
        min(t, loader.when(now)) for t in loader.grid(first_hour + HOUR + timedelta(minutes=3), HOUR, hours)
    ]
    hour_ids = [f"h{int((first_hour + h * HOUR).timestamp())}" for h in range(hours)]
    days = -(-hours // 24)
    day_starts = loader.grid(first_hour, DAY, days + 1)
    day_synced = [
        min(t, loader.when(now)) for t in loader.grid(first_hour + DAY + timedelta(minutes=5), DAY, days)
    ]
    day_ids = [f"d{int((first_hour + d * DAY).timestamp())}" for d in range(days)]

    # Rows go in as sync writes them, hour after hour across every account, so that each account's history
    # is spread over the table as in a real database (not stored together, which would flatter range scans).
    def usage_rows():
        for h in range(hours):
            for pk, series in zip(ids, hourly, strict=True):
                yield (pk, "hour", starts[h], starts[h + 1], hour_ids[h], micro_text(series[h]), synced_at[h])
            if h % 24 == 23 or h == hours - 1:
                d = h // 24
                for pk, series in zip(ids, hourly, strict=True):
                    total = micro_text(sum(series[d * 24 : d * 24 + 24]))
                    yield (pk, "day", day_starts[d], day_starts[d + 1], day_ids[d], total, day_synced[d])

    with _timer("usage rows", timings), transaction.atomic():
        counts["usage_records"] = loader.load(
            m.UsageRecord,
            ["account_id", "window", "start", "end", "summary_id", "value", "synced_at"],
            usage_rows(),
        )

    # Balance snapshots every 5 minutes: usage drains the balance, auto top-ups and manual top-ups refill it.
    snap_first = (now - timedelta(days=snapshot_days)).replace(second=0, microsecond=0)
    snap_first -= timedelta(minutes=snap_first.minute % 5)
    steps = int((now - snap_first) / timedelta(minutes=5)) + 1
    topups: list[m.TopUp] = []
    auto_charges: list[tuple[int, datetime, int]] = []
    final_balance: dict[int, int] = {}

    taken_at = loader.grid(snap_first, timedelta(minutes=5), steps)
    # Hour of the usage series each 5-minute step falls in (snapshots start on a 5-minute mark).
    minute0 = int((snap_first - first_hour) / timedelta(minutes=1))
    step_hour = [(minute0 + 5 * k) // 60 for k in range(steps)]

    def snapshot_rows():
        balances = [p["opening"] for p in profiles]
        fixed = []
        for p in profiles:
            auto = p["auto"]
            fixed.append(
                (
                    micro_text(auto[0]) if auto else None,
                    micro_text(auto[1]) if auto else None,
                    f"{4000 + p['index']:04d}"[-4:],
                )
            )
        for step in range(steps):
            h = step_hour[step]
            moment = None
            for n, (pk, p, series) in enumerate(zip(ids, profiles, hourly, strict=True)):
                balance = balances[n]
                if 0 <= h < hours:
                    balance -= series[h] // 12
                auto, every = p["auto"], p["manual_every"]
                if auto and balance < auto[1]:
                    balance += auto[0]
                    moment = moment or snap_first + step * timedelta(minutes=5)
                    auto_charges.append((pk, moment, auto[0]))
                elif every and step % every == every // 2:
                    balance += p["manual_amount"]
                    moment = moment or snap_first + step * timedelta(minutes=5)
                    topups.append(_topup(m, pk, moment, p["manual_amount"]))
                balances[n] = balance
                amount_text, threshold_text, last4 = fixed[n]
                yield (
                    pk,
                    taken_at[step],
                    micro_text(balance),
                    True,
                    "visa",
                    last4,
                    True,
                    amount_text,
                    threshold_text,
                    "",
                    "",
                    None,
                )
        final_balance.update(zip(ids, balances, strict=True))

    with _timer("balance snapshots", timings), transaction.atomic():
        counts["balance_snapshots"] = loader.load(
            m.BalanceSnapshot,
            [
                "account_id",
                "taken_at",
                "balance",
                "has_default_payment_method",
                "payment_method_brand",
                "payment_method_last4",
                "first_topup_success",
                "auto_topup_amount",
                "auto_topup_threshold",
                "auto_topup_error",
                "auto_topup_disabled_reason",
                "auto_topup_last_failed_at",
            ],
            snapshot_rows(),
        )

    # Sync runs as beat leaves them over the retention period.
    jobs = [
        ("balance", timedelta(minutes=5), 1),
        ("usage", HOUR, 2),
        ("spending_limit", HOUR, 1),
        ("invoices", timedelta(hours=6), 3),
    ]
    run_first = now - timedelta(days=sync_run_days)

    grids = []
    for job, every, calls in jobs:
        count = int((now - run_first) / every)
        first = now - timedelta(seconds=60) - (count - 1) * every
        grids.append(
            (
                job,
                calls,
                loader.grid(first, every, count),
                loader.grid(first + timedelta(milliseconds=180), every, count),
            )
        )

    events = sorted(
        (start, end, job, calls)
        for job, calls, started, finished in grids
        for start, end in zip(started, finished, strict=True)
    )

    def sync_run_rows():
        for start, end, job, calls in events:
            for pk in ids:
                yield (job, pk, start, end, "succeeded", "", calls)

    with _timer("sync runs", timings), transaction.atomic():
        counts["sync_runs"] = loader.load(
            m.SyncRun,
            ["job", "account_id", "started_at", "finished_at", "outcome", "error", "api_calls"],
            sync_run_rows(),
        )

    with _timer("invoices, top-ups, configs, people", timings), transaction.atomic():
        counts.update(_seed_small_tables(m, rng, ids, profiles, now, auto_charges, topups, final_balance))
        user_model = get_user_model()
        # No passwords: the benchmark logs people in with force_login, and hashing would cost seconds.
        user_model.objects.create_superuser("bench-super", "super@bench.invalid", None)
        ten = user_model.objects.create_user("bench-ten", "ten@bench.invalid", None)
        everyone = user_model.objects.create_user("bench-all", "all@bench.invalid", None)
        grants = [m.AccountAccess(user=ten, account_id=pk, role=m.Role.ADMIN) for pk in ids[:TEN]]
        grants += [m.AccountAccess(user=everyone, account_id=pk, role=m.Role.ADMIN) for pk in ids]
        m.AccountAccess.objects.bulk_create(grants)
        counts["people"] = 3

    _analyze(loader)
    return {
        "counts": counts,
        "timings": timings,
        "rows": loader.rows,
        "sample_account": account_cloudflare_id(0),
        "now": now.isoformat(),
    }


TEAM_WORDS = ["Prod", "Staging", "Labs", "Research", "Search", "Support", "Agents", "Mobile", "Data", "Edge"]


def _profile(rng: random.Random, index: int) -> dict:
    """One account's character: spend rate, opening balance, auto top-up or manual top-ups, spending limit."""
    rate = int(rng.lognormvariate(12.4, 1.0))  # micro-dollars per hour at 100 % of the day's shape: ~ $0.25
    rate = max(2_000, min(rate, 40_000_000))
    daily = rate * 24
    auto = None
    if index % 5 != 0:  # four in five use auto top-up
        amount = max(10, (daily * 7 // 1_000_000 // 10) * 10 + 10) * 1_000_000
        auto = (amount, amount // 2)
    limit = None
    if index % 3 == 0:
        limit = ("monthly", "fixed", max(100, daily * 40 // 1_000_000 // 100 * 100) * 1_000_000)
    elif index % 3 == 1:
        limit = ("weekly", "sliding", max(50, daily * 9 // 1_000_000 // 10 * 10) * 1_000_000)
    manual_amount = max(20, daily * 14 // 1_000_000 // 10 * 10) * 1_000_000
    return {
        "index": index,
        "rate": rate,
        "auto": auto,
        "limit": limit,
        "opening": manual_amount if auto is None else auto[0],
        "manual_every": 288 * 12 if auto is None else 0,  # a manual top-up every 12 days
        "manual_amount": manual_amount,
    }


def _topup(m, pk: int, at: datetime, amount_micro: int):
    cents = amount_micro // 10_000
    return m.TopUp(
        account_id=pk,
        intent_key=uuid.uuid4(),
        amount_cents=cents,
        fee_cents=cents * 5 // 100,
        payment_intent_id=f"pi_bench{uuid.uuid4().hex[:20]}",
        status=m.TopUpStatus.COMPLETED,
        card_brand="visa",
        card_last4="4242",
        requested_at=at - timedelta(seconds=20),
        completed_at=at,
    )


def _seed_small_tables(m, rng, ids, profiles, now, auto_charges, topups, final_balance) -> dict[str, int]:
    from decimal import Decimal

    def dollars(micro: int) -> Decimal:
        return Decimal(micro_text(micro))

    invoices = []
    for pk, at, amount in auto_charges:
        invoices.append(
            m.Invoice(
                account_id=pk,
                invoice_id=f"in_auto_{pk}_{int(at.timestamp())}",
                invoice_type=m.InvoiceType.AUTO,
                amount_due=dollars(amount),
                amount_paid=dollars(amount),
                amount_remaining=Decimal(0),
                created=at,
                description="Auto top-up",
                status="paid",
                created_by="auto_topup",
                synced_at=now,
            )
        )
    for topup in topups:
        amount = Decimal(topup.amount_cents) / 100
        invoices.append(
            m.Invoice(
                account_id=topup.account_id,
                invoice_id=f"in_{topup.payment_intent_id}",
                invoice_type=m.InvoiceType.MANUAL,
                amount_due=amount,
                amount_paid=amount,
                amount_remaining=Decimal(0),
                created=topup.completed_at,
                description="Credit top-up",
                status="paid",
                created_by="dashboard",
                synced_at=now,
            )
        )
    m.Invoice.objects.bulk_create(invoices, batch_size=2000)
    m.TopUp.objects.bulk_create(topups, batch_size=2000)

    configs, limits, previews, lines, events = [], [], [], [], []
    for pk, p in zip(ids, profiles, strict=True):
        if p["auto"]:
            configs.append(
                m.AutoTopUpConfig(
                    account_id=pk,
                    amount=dollars(p["auto"][0]),
                    threshold=dollars(p["auto"][1]),
                    synced_at=now,
                )
            )
        if p["limit"]:
            duration, strategy, amount = p["limit"]
            limits.append(
                m.SpendingLimit(
                    account_id=pk,
                    enabled=True,
                    amount=dollars(amount),
                    duration=duration,
                    strategy=strategy,
                    synced_at=now - timedelta(minutes=pk % 55),
                )
            )
        else:
            limits.append(m.SpendingLimit(account_id=pk, enabled=False, synced_at=now))
        due = dollars(p["rate"] * 24 * 20)
        previews.append(
            m.InvoicePreview(
                account_id=pk,
                preview_id=f"upcoming_{pk}",
                amount_due=due,
                amount_paid=Decimal(0),
                amount_remaining=due,
                status="draft",
                period_start=now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
                period_end=now + timedelta(days=10),
                synced_at=now,
            )
        )
        if final_balance.get(pk, 0) < 10_000_000:
            events.append(
                m.AlertEvent(
                    account_id=pk,
                    kind="low_balance",
                    headline=f"Low balance on account {pk}",
                    opened_at=now - timedelta(hours=2),
                )
            )
        for back in (40, 20):
            opened = now - timedelta(days=back, hours=pk % 24)
            events.append(
                m.AlertEvent(
                    account_id=pk,
                    kind="usage_spike",
                    headline=f"Usage spike on {pk}",
                    opened_at=opened,
                    resolved_at=opened + timedelta(hours=5),
                )
            )
    m.AutoTopUpConfig.objects.bulk_create(configs)
    m.SpendingLimit.objects.bulk_create(limits)
    created = m.InvoicePreview.objects.bulk_create(previews)
    if not all(p.pk for p in created):
        created = list(m.InvoicePreview.objects.order_by("pk"))
    for preview in created:
        for position, text in enumerate(["AI Gateway usage", "Unified billing credits", "Tax"]):
            lines.append(
                m.InvoicePreviewLine(
                    preview=preview,
                    position=position,
                    amount=preview.amount_due / 3,
                    description=text,
                    quantity=Decimal(1),
                )
            )
    m.InvoicePreviewLine.objects.bulk_create(lines)
    m.AlertEvent.objects.bulk_create(events)
    return {
        "invoices": len(invoices),
        "topups": len(topups),
        "auto_topup_configs": len(configs),
        "spending_limits": len(limits),
        "alert_events": len(events),
    }


def seed_sweep(accounts: int) -> dict:
    """The sync benchmark's accounts, as the 5-minute sweep finds them in its steady state."""
    from django.db import transaction

    from billing import models as m

    now = datetime.now(UTC)
    timings: dict[str, float] = {}
    with _timer("sweep accounts", timings), transaction.atomic():
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
                    job="balance",
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


def reset_spending_limit_ages() -> None:
    """Spreads the accounts' spending-limit fetches evenly over the last hour, as hourly refreshes leave them,
    so each sweep run starts from the same steady state (about a tenth of the limits due)."""
    from django.db import transaction

    from billing.models import SpendingLimit

    now = datetime.now(UTC)
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
