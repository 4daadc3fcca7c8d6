"""The request budget's schedule: the usage and invoice sweeps in slices, healthy balances fetched every other
sweep, and each sweep's chunks paced over its slot."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import sync, tasks
from billing.models import (
    Account,
    AccountSummary,
    AlertEvent,
    AlertKind,
    AutoTopUpConfig,
    BalanceSnapshot,
    SyncJob,
)
from billing.sync import slots
from billing.sync.balance import BalanceHealth, balance_due, healthy

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _schedule(settings):
    settings.SYNC_BALANCE_INTERVAL = 300
    settings.SYNC_BALANCE_HEALTHY_EVERY = 2
    settings.SYNC_BALANCE_HEALTHY_RUNWAY_DAYS = 3
    settings.SYNC_USAGE_INTERVAL = 3600
    settings.SYNC_USAGE_SLICES = 12


def _health(**changes) -> BalanceHealth:
    values = {
        "last_taken_at": NOON - timedelta(minutes=5),
        "open_alert": False,
        "runway_days": Decimal("30"),
        "auto_topup_failing": False,
    }
    return BalanceHealth(**{**values, **changes})


# --- Due-ness of a balance fetch -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"open_alert": True},
        {"auto_topup_failing": True},
        {"runway_days": Decimal("3")},
        {"runway_days": Decimal("0.5")},
        {"last_taken_at": None},
    ],
    ids=["open alert", "auto top-up failing", "runway of exactly 3 days", "runway of hours", "never fetched"],
)
def test_an_account_that_is_not_healthy_is_due_on_every_sweep(changes):
    health = _health(**changes)
    assert not healthy(health)
    for n in range(4):
        slot = NOON + timedelta(minutes=5 * n)
        assert balance_due(7, health, slot, now=slot)


def test_a_healthy_account_is_due_every_other_sweep():
    health = _health()
    due = [balance_due(7, health, NOON + timedelta(minutes=5 * n), now=NOON) for n in range(6)]
    assert due.count(True) == 3
    assert due[0::2] != due[1::2]  # alternating


def test_healthy_accounts_split_evenly_over_the_sweeps():
    health = _health()
    first = [pk for pk in range(1, 101) if balance_due(pk, health, NOON, now=NOON)]
    second = [pk for pk in range(1, 101) if balance_due(pk, health, NOON + timedelta(minutes=5), now=NOON)]
    assert len(first) == len(second) == 50
    assert set(first).isdisjoint(second)


def test_no_spend_counts_as_a_long_runway():
    assert healthy(_health(runway_days=None))


def test_a_healthy_account_whose_turn_was_missed_is_due_at_once():
    slot = NOON + timedelta(minutes=5)
    assert not balance_due(8, _health(), slot, now=slot)  # not its turn, fetched 5 minutes ago
    late = _health(last_taken_at=slot - timedelta(minutes=13))
    assert balance_due(8, late, slot, now=slot)


def test_every_sweep_fetches_every_account_when_healthy_every_is_one(settings):
    settings.SYNC_BALANCE_HEALTHY_EVERY = 1
    assert all(balance_due(pk, _health(), NOON, now=NOON) for pk in range(1, 10))


@pytest.mark.django_db
def test_balance_due_ids_reads_health_from_the_local_tables():
    accounts = [Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}") for n in range(1, 7)]
    taken = timezone.now() - timedelta(minutes=4)
    for account in accounts:
        BalanceSnapshot.objects.create(account=account, taken_at=taken, balance=Decimal("500"))
        AccountSummary.objects.create(account=account, runway_days=Decimal("40"), computed_at=taken)
    alerting, failing, short, fresh = accounts[:4]
    AlertEvent.objects.create(account=alerting, kind=AlertKind.LOW_BALANCE, opened_at=taken)
    AutoTopUpConfig.objects.create(account=failing, error="card declined", synced_at=taken)
    AccountSummary.objects.filter(account=short).update(runway_days=Decimal("2"))
    BalanceSnapshot.objects.filter(account=fresh).delete()
    ids = [a.pk for a in accounts]

    slot = slots.slot_start(timezone.now(), 300)
    both = set(sync.balance_due_ids(ids, slot)) | set(sync.balance_due_ids(ids, slot + timedelta(minutes=5)))
    always = set(sync.balance_due_ids(ids, slot)) & set(
        sync.balance_due_ids(ids, slot + timedelta(minutes=5))
    )

    assert both == set(ids)
    assert always == {alerting.pk, failing.pk, short.pk, fresh.pk}


# --- Usage slices ----------------------------------------------------------------------------------------
def test_the_usage_sweep_runs_every_interval_over_the_slices():
    assert sync.slot_interval(SyncJob.USAGE) == 300


def test_each_account_is_in_exactly_one_usage_slice_per_interval():
    ids = list(range(1, 1001))
    starts = [NOON + timedelta(minutes=5 * n) for n in range(12)]
    slices = [sync.job_slice(SyncJob.USAGE, ids, start) for start in starts]
    assert sorted(pk for part in slices for pk in part) == ids
    assert {len(part) for part in slices} <= {83, 84}
    next_hour = starts[0] + timedelta(hours=1)
    assert sync.job_slice(SyncJob.USAGE, ids, next_hour) == slices[0]  # the next hour, the same


def test_one_slice_is_every_account_when_there_is_one_slice(settings):
    settings.SYNC_USAGE_SLICES = 1
    assert sync.slot_interval(SyncJob.USAGE) == 3600
    assert sync.job_slice(SyncJob.USAGE, [1, 2, 3], NOON + timedelta(minutes=25)) == [1, 2, 3]


@pytest.mark.django_db
def test_one_usage_slice_sends_only_its_accounts_calls_to_the_sandbox(
    cloudflare, eager_tasks, monkeypatch, settings
):
    settings.SYNC_USAGE_SLICES = 4
    settings.GATEWAYS_REFRESH_SECONDS = 3600
    accounts = []
    for n in range(1, 9):
        cloudflare.put_account(f"{n:032x}", balance=50_000, usage_per_hour=1)
        accounts.append(Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}"))
    slot = datetime(2026, 12, 1, 12, 15, 10, tzinfo=UTC)  # 12:15 is the second of four 15-minute slices
    monkeypatch.setattr(slots.timezone, "now", lambda: slot)
    mine = [a for a in accounts if a.pk % 4 == 1]
    before = len(cloudflare.requests())

    assert tasks.sweep_usage.apply().get() == 1
    assert tasks.sweep_usage.apply().get() == 0  # the same slot again: nothing sent

    calls = [r for r in cloudflare.requests()[before:] if r["path"].startswith("/client/v4/")]
    callers = {r["path"].split("/accounts/")[1].split("/")[0] for r in calls if "/accounts/" in r["path"]}
    assert callers == {a.cloudflare_id for a in mine}
    usage = [r for r in calls if r["path"].endswith("/usage-history")]
    gateways = [r for r in calls if "/ai-gateway/gateways" in r["path"]]
    graphql = [r for r in calls if r["path"].endswith("/graphql")]
    ranges = [r for r in calls if r["path"].endswith("/topup/limits")]
    # Per account of the slice: billed usage by hour and by day, its gateways (first read), one GraphQL query,
    # and Cloudflare's top-up range (never fetched yet: any sync of the account asks for it).
    # A first sync of the analytics: the dataset's settings, then 14 days and 10 hours in five queries of at
    # most three days (the sandbox's maxDuration).
    assert (len(usage), len(gateways), len(graphql)) == (2 * len(mine), len(mine), 6 * len(mine))
    assert len(ranges) == len(mine)
    assert len(calls) == 10 * len(mine)


# --- Invoice slices ----------------------------------------------------------------------------------------
def test_the_invoice_sweep_runs_every_five_minutes_over_72_slices(settings):
    from django.conf import settings as live

    settings.SYNC_INVOICES_INTERVAL, settings.SYNC_INVOICES_SLICES = 6 * 3600, 72
    assert sync.slot_interval(SyncJob.INVOICES) == 300
    assert live.CELERY_BEAT_SCHEDULE["sync-invoices"]["schedule"].run_every.total_seconds() == 300


def test_each_account_is_in_exactly_one_invoice_slice_per_interval(settings):
    settings.SYNC_INVOICES_INTERVAL, settings.SYNC_INVOICES_SLICES = 6 * 3600, 72
    ids = list(range(1, 1001))
    starts = [NOON + timedelta(minutes=5 * n) for n in range(72)]
    parts = [sync.job_slice(SyncJob.INVOICES, ids, start) for start in starts]
    assert sorted(pk for part in parts for pk in part) == ids
    assert {len(part) for part in parts} <= {13, 14}
    assert sync.sweep_account_ids(SyncJob.INVOICES, starts[3], ids) == parts[3]


def test_a_job_that_is_not_sliced_sweeps_every_account():
    assert slots.slices(SyncJob.BALANCE) == 1


# --- Pacing: a sweep's chunks over its slot ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("index", "chunks", "spread", "delay"),
    [(0, 3, 240, 0.0), (1, 3, 240, 80.0), (2, 3, 240, 160.0), (0, 1, 240, 0.0), (5, 11, 0, 0.0)],
)
def test_chunk_delays_spread_evenly_the_first_at_once(index, chunks, spread, delay):
    assert tasks.chunk_delay(index, chunks, spread) == delay


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("spread", "countdowns"),
    [
        (0.8, [None, 80.0, 160.0]),  # five accounts in chunks of two over 0.8 × 300 s
        (0, [None, None, None]),  # no pace: every chunk at once
    ],
)
def test_a_sweep_sends_its_chunks_over_the_spread_of_its_slot(monkeypatch, settings, db, spread, countdowns):
    settings.SYNC_CHUNK_SIZE, settings.SYNC_SWEEP_SPREAD, settings.SYNC_BALANCE_HEALTHY_EVERY = 2, spread, 1
    for n in range(1, 6):
        Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}")
    sent = []
    monkeypatch.setattr(tasks.sync_chunk, "apply_async", lambda **kwargs: sent.append(kwargs))
    monkeypatch.setattr(slots.timezone, "now", lambda: NOON + timedelta(seconds=10))

    assert tasks.sweep_balances.apply().get() == 3

    assert [call["countdown"] for call in sent] == countdowns
    assert [len(call["args"][1]) for call in sent] == [2, 2, 1]
