"""The big tables of the page benchmark's database, as a year of sync leaves them: hourly usage with the day
rows beside it, 5-minute balance snapshots (and the top-ups that refill the balances), and the beat schedule's
SyncRun rows. Each table comes as a stream of plain tuples for bench.seed_bulk.Loader."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.seed_bulk import Loader, micro_text

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FIVE_MINUTES = timedelta(minutes=5)
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
# Beat's jobs: name, how often it runs, API calls per account and run.
SYNC_JOBS = [
    ("balance", FIVE_MINUTES, 1),
    ("usage", HOUR, 2),
    ("spending_limit", HOUR, 1),
    ("invoices", timedelta(hours=6), 3),
]
USAGE_COLUMNS = ["account_id", "window", "start", "end", "summary_id", "value", "synced_at"]
SNAPSHOT_COLUMNS = [
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
]
SYNC_RUN_COLUMNS = ["job", "account_id", "started_at", "finished_at", "outcome", "error", "api_calls"]


def account_profile(rng: random.Random, index: int) -> dict:
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


# --- usage --------------------------------------------------------------------------------------------------
@dataclass
class UsageHistory:
    """Every account's spend (micro-dollars) per hour, from `first_hour` to the current hour."""

    first_hour: datetime
    hours: int
    hourly: list[list[int]]


def usage_history(profiles: list[dict], seed: int, now: datetime, usage_days: int) -> UsageHistory:
    """`usage_days` UTC days of hourly spend per account, up to and including the current hour."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    first_hour = this_hour.replace(hour=0) - timedelta(days=usage_days - 1)
    hours = int((this_hour - first_hour) / HOUR) + 1
    hourly: list[list[int]] = []
    for p in profiles:
        # One generator per account, so an account's series does not depend on how many come before it.
        r = random.Random(seed * 1000 + p["index"])
        series = []
        for h in range(hours):
            moment = first_hour + h * HOUR
            weekend = 60 if moment.weekday() >= 5 else 100
            series.append(p["rate"] * HOUR_SHAPE[moment.hour] * weekend * r.randint(70, 130) // 1_000_000)
        hourly.append(series)
    return UsageHistory(first_hour, hours, hourly)


def _window_columns(
    loader: Loader, prefix: str, first: datetime, step: timedelta, count: int, delay: timedelta, now: datetime
) -> tuple[list[str], list[str], list[str]]:
    """Column text of `count` usage windows `step` long from `first`: their starts (one more: the last end),
    when sync wrote each (`delay` after it closed, never after now) and their summary ids."""
    starts = loader.grid(first, step, count + 1)
    synced = [min(t, loader.when(now)) for t in loader.grid(first + step + delay, step, count)]
    summary_ids = [f"{prefix}{int((first + k * step).timestamp())}" for k in range(count)]
    return starts, synced, summary_ids


def usage_rows(loader: Loader, ids: list[int], usage: UsageHistory, now: datetime) -> Iterator[tuple]:
    """UsageRecord rows (USAGE_COLUMNS): every hour, and each UTC day's sum once its last hour is in."""
    hour_columns = _window_columns(
        loader, "h", usage.first_hour, HOUR, usage.hours, timedelta(minutes=3), now
    )
    days = -(-usage.hours // 24)
    day_columns = _window_columns(loader, "d", usage.first_hour, DAY, days, timedelta(minutes=5), now)
    return _usage_stream(ids, usage, hour_columns, day_columns)


def _usage_stream(
    ids: list[int], usage: UsageHistory, hour_columns: tuple, day_columns: tuple
) -> Iterator[tuple]:
    # Rows go in as sync writes them, hour after hour across every account, so that each account's history
    # is spread over the table as in a real database (not stored together, which would flatter range scans).
    starts, synced_at, hour_ids = hour_columns
    day_starts, day_synced, day_ids = day_columns
    for h in range(usage.hours):
        for pk, series in zip(ids, usage.hourly, strict=True):
            yield (pk, "hour", starts[h], starts[h + 1], hour_ids[h], micro_text(series[h]), synced_at[h])
        if h % 24 == 23 or h == usage.hours - 1:
            d = h // 24
            for pk, series in zip(ids, usage.hourly, strict=True):
                total = micro_text(sum(series[d * 24 : d * 24 + 24]))
                yield (pk, "day", day_starts[d], day_starts[d + 1], day_ids[d], total, day_synced[d])


# --- balance snapshots and top-ups --------------------------------------------------------------------------
@dataclass
class TopUpHistory:
    """What the balance history leaves beside its snapshots; filled in while the snapshot rows are read."""

    topups: list = field(default_factory=list)  # TopUp instances, not yet saved
    auto_charges: list[tuple[int, datetime, int]] = field(default_factory=list)  # (account, when, micro-$)
    final_balance: dict[int, int] = field(default_factory=dict)  # micro-dollars per account


def completed_topup(pk: int, at: datetime, amount_micro: int):
    """A manual top-up completed at `at` (unsaved TopUp)."""
    from billing import models as m

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


def balance_snapshot_rows(
    loader: Loader,
    ids: list[int],
    profiles: list[dict],
    usage: UsageHistory,
    now: datetime,
    snapshot_days: int,
    history: TopUpHistory,
) -> Iterator[tuple]:
    """BalanceSnapshot rows (SNAPSHOT_COLUMNS) every 5 minutes over `snapshot_days`: usage drains each
    balance, auto top-ups and manual top-ups refill it, and `history` records those top-ups."""
    first = (now - timedelta(days=snapshot_days)).replace(second=0, microsecond=0)
    first -= timedelta(minutes=first.minute % 5)
    steps = int((now - first) / FIVE_MINUTES) + 1
    taken_at = loader.grid(first, FIVE_MINUTES, steps)
    # Hour of the usage series each 5-minute step falls in (snapshots start on a 5-minute mark).
    minute0 = int((first - usage.first_hour) / timedelta(minutes=1))
    step_hour = [(minute0 + 5 * k) // 60 for k in range(steps)]
    return _snapshot_stream(ids, profiles, usage, first, taken_at, step_hour, history)


def _snapshot_stream(
    ids: list[int],
    profiles: list[dict],
    usage: UsageHistory,
    first: datetime,
    taken_at: list[str],
    step_hour: list[int],
    history: TopUpHistory,
) -> Iterator[tuple]:
    balances = [p["opening"] for p in profiles]
    fixed = [_card_and_auto_topup(p) for p in profiles]
    for step, taken in enumerate(taken_at):
        h = step_hour[step]
        moment = first + step * FIVE_MINUTES
        for n, (pk, p, series) in enumerate(zip(ids, profiles, usage.hourly, strict=True)):
            balance = balances[n]
            if 0 <= h < usage.hours:
                balance -= series[h] // 12
            balance = _top_up_if_due(pk, p, balance, step, moment, history)
            balances[n] = balance
            amount_text, threshold_text, last4 = fixed[n]
            yield (
                pk,
                taken,
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
    history.final_balance.update(zip(ids, balances, strict=True))


def _card_and_auto_topup(p: dict) -> tuple[str | None, str | None, str]:
    """The columns of an account's snapshots that never change: auto top-up amount, threshold, card last4."""
    auto = p["auto"]
    return (
        micro_text(auto[0]) if auto else None,
        micro_text(auto[1]) if auto else None,
        f"{4000 + p['index']:04d}"[-4:],
    )


def _top_up_if_due(pk: int, p: dict, balance: int, step: int, moment: datetime, history: TopUpHistory) -> int:
    """The balance after this step's top-up: auto top-up below the threshold, else a manual one when due."""
    auto, every = p["auto"], p["manual_every"]
    if auto and balance < auto[1]:
        history.auto_charges.append((pk, moment, auto[0]))
        return balance + auto[0]
    if every and step % every == every // 2:
        history.topups.append(completed_topup(pk, moment, p["manual_amount"]))
        return balance + p["manual_amount"]
    return balance


# --- sync runs ----------------------------------------------------------------------------------------------
def _sync_run_events(loader: Loader, now: datetime, sync_run_days: int) -> list[tuple[str, str, str, int]]:
    """(started, finished, job, API calls) of every beat run over the retention period, oldest first."""
    run_first = now - timedelta(days=sync_run_days)
    grids = []
    for job, every, calls in SYNC_JOBS:
        count = int((now - run_first) / every)
        first = now - timedelta(seconds=60) - (count - 1) * every
        started = loader.grid(first, every, count)
        finished = loader.grid(first + timedelta(milliseconds=180), every, count)
        grids.append((job, calls, started, finished))
    return sorted(
        (start, end, job, calls)
        for job, calls, started, finished in grids
        for start, end in zip(started, finished, strict=True)
    )


def sync_run_rows(loader: Loader, ids: list[int], now: datetime, sync_run_days: int) -> Iterator[tuple]:
    """SyncRun rows (SYNC_RUN_COLUMNS) as beat leaves them: every run succeeded, for every account."""
    events = _sync_run_events(loader, now, sync_run_days)
    return ((job, pk, start, end, "succeeded", "", calls) for start, end, job, calls in events for pk in ids)
