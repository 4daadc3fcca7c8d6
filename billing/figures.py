"""Derived figures, in one place, from local tables only (no API call): spend per day, runway, spend against
the spending limit, and whether the data is fresh.

How spend over a span of time [a, b) is read from usage rows (the one rule every figure uses):
- a UTC day wholly inside the span counts its day row when there is one, else the sum of its hour rows;
- a UTC day that the span cuts counts its hour rows that start inside the span; when that day has no hour rows
  (older than the hourly history), its day row counts in proportion to the overlap.
Days are Cloudflare's UTC days; local days (settings.TIME_ZONE) are spans like any other. Amounts are Decimal
dollars, rounded to 6 places (the precision of the tables).
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import reduce

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from billing.models import (
    Account,
    AccountSummary,
    BalanceSnapshot,
    LimitDuration,
    LimitStrategy,
    SpendingLimit,
    SyncOutcome,
    SyncRun,
    UsageRecord,
    UsageWindow,
)

ZERO = Decimal(0)
MICRO = Decimal("0.000001")
TENTH = Decimal("0.1")
DAY = timedelta(days=1)
SPEND_DAYS = 7
# The choices' values, once: the enums build a new list on every `.values`.
DURATIONS = frozenset(LimitDuration.values)
STRATEGIES = frozenset(LimitStrategy.values)
SLIDING = {
    LimitDuration.DAILY: timedelta(days=1),
    LimitDuration.WEEKLY: timedelta(days=7),
    LimitDuration.MONTHLY: timedelta(days=30),
}


@dataclass(frozen=True)
class AccountFigures:
    account_id: int
    balance: Decimal | None  # latest snapshot, dollars
    balance_taken_at: datetime | None
    spend_per_day: Decimal | None  # mean daily spend over the last 7 full local days
    runway_days: (
        Decimal | None
    )  # balance / spend_per_day; 0 when balance <= 0; None when spend is 0 or unknown
    limit_spent: Decimal | None  # spend in the spending limit's current window
    limit_used_percent: Decimal | None
    data_as_of: datetime | None  # finished_at of the last successful balance SyncRun
    is_stale: bool  # data_as_of older than STALE_AFTER_MINUTES, or never synced


# --- time spans -------------------------------------------------------------------------------------------
def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.get_default_timezone()).astimezone(UTC)


def _local_today(now: datetime) -> date:
    return now.astimezone(timezone.get_default_timezone()).date()


def _utc_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def limit_window_start(duration: str, strategy: str, now: datetime) -> datetime:
    """Start of the spending limit's current window: fixed windows begin at local midnight, Monday 00:00 or
    the 1st of the month (settings.TIME_ZONE); sliding ones are the last 24 hours, 7 days or 30 days."""
    if strategy == LimitStrategy.SLIDING:
        return now - SLIDING[duration]
    today = _local_today(now)
    if duration == LimitDuration.DAILY:
        return _local_midnight(today)
    if duration == LimitDuration.WEEKLY:
        return _local_midnight(today - timedelta(days=today.weekday()))
    return _local_midnight(today.replace(day=1))


def _spend_span(now: datetime) -> tuple[datetime, datetime]:
    today = _local_today(now)
    return _local_midnight(today - timedelta(days=SPEND_DAYS)), _local_midnight(today)


def _edge_days(start: datetime, end: datetime) -> set[datetime]:
    """The UTC days that [start, end) cuts rather than covers whole."""
    edges = set()
    if _utc_day(start) != start:
        edges.add(_utc_day(start))
    if _utc_day(end) != end:
        edges.add(_utc_day(end))
    return edges


def _runs(days: list[datetime]) -> list[tuple[datetime, datetime]]:
    """[(first, last)] of each run of consecutive days in a sorted list of UTC days."""
    runs: list[tuple[datetime, datetime]] = []
    for day in days:
        if runs and runs[-1][1] + DAY == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


# --- the one rule -----------------------------------------------------------------------------------------
@dataclass
class _Usage:
    """One account's usage rows, as much of them as the spans asked about need."""

    days: dict[datetime, Decimal] = field(default_factory=dict)  # UTC day -> day row value
    hour_days: dict[datetime, Decimal] = field(default_factory=dict)  # UTC day -> sum of its hour rows
    hours: list[tuple[datetime, Decimal]] = field(default_factory=list)  # hour rows of the days spans cut

    @property
    def empty(self) -> bool:
        return not (self.days or self.hour_days or self.hours)

    def spend(self, start: datetime, end: datetime) -> Decimal:
        total = ZERO
        day = _utc_day(start)
        while day < end:
            following = day + DAY
            if start <= day and following <= end:
                total += self.days.get(day, self.hour_days.get(day, ZERO))
            elif day in self.hour_days:
                total += sum(
                    (value for at, value in self.hours if day <= at < following and start <= at < end), ZERO
                )
            elif day in self.days:
                overlap = min(end, following) - max(start, day)
                total += self.days[day] * Decimal(overlap.total_seconds()) / Decimal(DAY.total_seconds())
            day = following
        return total.quantize(MICRO)


def _usage_for(account_id: int, start: datetime, end: datetime) -> _Usage:
    """Every usage row of one account touching [start, end), whole UTC days."""
    usage = _Usage()
    rows = UsageRecord.objects.filter(account_id=account_id, start__gte=_utc_day(start), start__lt=end)
    for window, at, value in rows.values_list("window", "start", "value"):
        if window == UsageWindow.DAY:
            usage.days[_utc_day(at)] = usage.days.get(_utc_day(at), ZERO) + value
        else:
            usage.hours.append((at, value))
            usage.hour_days[_utc_day(at)] = usage.hour_days.get(_utc_day(at), ZERO) + value
    return usage


# --- single-account figures -------------------------------------------------------------------------------
def daily_spend(account: Account, days: int, now: datetime | None = None) -> list[tuple[date, Decimal]]:
    """[(local day, dollars)] for the last `days` days in settings.TIME_ZONE, oldest first, today (partial)
    last; days without usage are 0."""
    now = now or timezone.now()
    today = _local_today(now)
    first = today - timedelta(days=days - 1)
    usage = _usage_for(account.pk, _local_midnight(first), _local_midnight(today + timedelta(days=1)))
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        series.append((day, usage.spend(_local_midnight(day), _local_midnight(day + timedelta(days=1)))))
    return series


def peak_daily_spend(account: Account, days: int = 14, now: datetime | None = None) -> Decimal:
    """The highest daily spend of the last `days` local days (today included); 0 without usage."""
    return max((amount for _, amount in daily_spend(account, days, now)), default=ZERO)


def spend_in_limit_window(
    account: Account, duration: str, strategy: str, now: datetime | None = None
) -> Decimal:
    """Dollars spent in the current window of a spending limit of this duration and strategy."""
    now = now or timezone.now()
    start = limit_window_start(duration, strategy, now)
    return _usage_for(account.pk, start, now).spend(start, now)


def figures_for(account: Account, now: datetime | None = None) -> AccountFigures:
    return figures_for_accounts([account], now)[account.pk]


# --- many accounts, a fixed number of queries -------------------------------------------------------------
def figures_for_accounts(accounts: Iterable, now: datetime | None = None) -> dict[int, AccountFigures]:
    """{account id: AccountFigures} for accounts (Account instances or ids), computed now from the history, in
    at most three queries whatever their number."""
    now = now or timezone.now()
    return _compute([a.pk if isinstance(a, Account) else int(a) for a in accounts], now)[0]


def _compute(ids: list[int], now: datetime) -> tuple[dict[int, AccountFigures], dict[int, SpendingLimit]]:
    """The figures of these accounts, and the (usable) spending limits they were computed with."""
    if not ids:
        return {}, {}
    latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at", "-pk")
    balance_runs = SyncRun.objects.filter(
        account=OuterRef("pk"), job="balance", outcome=SyncOutcome.SUCCEEDED
    ).order_by("-started_at")
    rows = (
        Account.objects.filter(pk__in=ids)
        .select_related("spending_limit")
        .annotate(
            latest_balance=Subquery(latest.values("balance")[:1]),
            latest_taken_at=Subquery(latest.values("taken_at")[:1]),
            data_as_of=Subquery(balance_runs.values("finished_at")[:1]),
            usage_synced=Exists(
                SyncRun.objects.filter(account=OuterRef("pk"), job="usage", outcome=SyncOutcome.SUCCEEDED)
            ),
        )
    )
    accounts_by_id = {row.pk: row for row in rows}
    if not accounts_by_id:
        return {}, {}

    # The spans each account needs: the last 7 full days, and its limit's window.
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    limits = {}
    for pk, row in accounts_by_id.items():
        spans[pk] = [_spend_span(now)]
        limit = _limit_of(row)
        if limit is not None:
            limits[pk] = limit
            spans[pk].append((limit_window_start(limit.duration, limit.strategy, now), now))
    earliest = _utc_day(min(start for account_spans in spans.values() for start, _ in account_spans))

    usage: dict[int, _Usage] = defaultdict(_Usage)
    recent = UsageRecord.objects.filter(account_id__in=ids, start__gte=earliest, start__lt=now)
    for account_id, at, value in recent.filter(window=UsageWindow.DAY).values_list(
        "account_id", "start", "value"
    ):
        days = usage[account_id].days
        days[_utc_day(at)] = days.get(_utc_day(at), ZERO) + value
    # A day wholly inside a span counts its day row whenever there is one, so hour rows are needed only for
    # the days a span cuts and the whole days without a day row: a few days per account, not a month of
    # hours. Accounts needing the same days share their conditions, and runs of days become one range: a
    # handful of conditions rather than one per account and day, which costs more than the rows themselves.
    accounts_by_day: dict[datetime, set[int]] = defaultdict(set)
    for pk, account_spans in spans.items():
        days = usage[pk].days if pk in usage else {}
        needed: set[datetime] = set()
        for start, end in account_spans:
            needed |= _edge_days(start, end)
            day = _utc_day(start)
            while day < end:
                if day not in days:
                    needed.add(day)
                day += DAY
        for day in needed:
            accounts_by_day[day].add(pk)
    days_by_accounts: dict[frozenset[int], list[datetime]] = defaultdict(list)
    for day, pks in accounts_by_day.items():
        days_by_accounts[frozenset(pks)].append(day)
    wanted = [
        Q(account_id__in=sorted(pks), start__gte=first, start__lt=last + DAY)
        for pks, days in days_by_accounts.items()
        for first, last in _runs(sorted(days))
    ]
    if wanted:
        hours = recent.filter(reduce(operator.or_, wanted), window=UsageWindow.HOUR)
        for account_id, at, value in hours.values_list("account_id", "start", "value"):
            account_usage = usage[account_id]
            account_usage.hours.append((at, value))
            day = _utc_day(at)
            account_usage.hour_days[day] = account_usage.hour_days.get(day, ZERO) + value

    stale_before = now - timedelta(minutes=settings.STALE_AFTER_MINUTES)
    figures = {}
    for pk, row in accounts_by_id.items():
        account_usage = usage.get(pk, _Usage())
        spend_per_day = None
        if row.usage_synced or not account_usage.empty:
            start, end = spans[pk][0]
            spend_per_day = (account_usage.spend(start, end) / SPEND_DAYS).quantize(MICRO)
        limit_spent = limit_used = None
        limit = limits.get(pk)
        if limit is not None:
            limit_spent = account_usage.spend(*spans[pk][1])
            if limit.amount > 0:
                limit_used = (limit_spent * 100 / limit.amount).quantize(TENTH)
        figures[pk] = AccountFigures(
            account_id=pk,
            balance=row.latest_balance,
            balance_taken_at=row.latest_taken_at,
            spend_per_day=spend_per_day,
            runway_days=runway(row.latest_balance, spend_per_day),
            limit_spent=limit_spent,
            limit_used_percent=limit_used,
            data_as_of=row.data_as_of,
            is_stale=row.data_as_of is None or row.data_as_of < stale_before,
        )
    return figures, limits


def runway(balance: Decimal | None, spend_per_day: Decimal | None) -> Decimal | None:
    """Days of credit left at this spend, rounded down to a tenth; 0 when the balance is spent already."""
    if balance is None:
        return None
    if balance <= 0:
        return ZERO
    if not spend_per_day or spend_per_day <= 0:
        return None
    return (balance / spend_per_day).quantize(TENTH, rounding=ROUND_DOWN)


def _limit_of(account: Account) -> SpendingLimit | None:
    limit = _spending_limit_of(account)
    return None if limit is None else _usable_limit(limit)


def _usable_limit(limit: SpendingLimit) -> SpendingLimit | None:
    """The limit if it is on and complete enough to measure spend against, else None."""
    if (
        not limit.enabled
        or limit.amount is None
        or limit.duration not in DURATIONS
        or limit.strategy not in STRATEGIES
    ):
        return None
    return limit


# --- stored figures: computed when the data changes, read by the pages ------------------------------------
# How long spend figures stored after a usage sync may be kept while only the balance changes.
SPEND_FIGURES_MAX_AGE = timedelta(hours=1)
SUMMARY_FIELDS = [
    "balance",
    "balance_taken_at",
    "spend_per_day",
    "runway_days",
    "limit_spent",
    "limit_used_percent",
    "limit_amount",
    "limit_duration",
    "limit_strategy",
    "data_as_of",
    "computed_at",
]


NO_LIMIT = (None, "", "")


def _limit_key(enabled, amount, duration, strategy) -> tuple:
    """What the limit figures depend on: a usable limit's amount, duration and strategy (or NO_LIMIT)."""
    if not enabled or amount is None or duration not in DURATIONS or strategy not in STRATEGIES:
        return NO_LIMIT
    return (amount, duration, strategy)


def refresh_summaries(accounts: Iterable, now: datetime | None = None, batch: int = 500) -> int:
    """Computes the figures of these accounts (Account instances or ids) from their history and stores them
    in AccountSummary, one upsert per batch; returns how many were stored."""
    now = now or timezone.now()
    ids = [a.pk if isinstance(a, Account) else int(a) for a in accounts]
    stored = 0
    for offset in range(0, len(ids), batch):
        chunk = ids[offset : offset + batch]
        figures, limits = _compute(chunk, now)
        rows = []
        for pk, figure in figures.items():
            limit = limits.get(pk)
            amount, duration, strategy = (
                NO_LIMIT if limit is None else _limit_key(True, limit.amount, limit.duration, limit.strategy)
            )
            rows.append(
                AccountSummary(
                    account_id=pk,
                    balance=figure.balance,
                    balance_taken_at=figure.balance_taken_at,
                    spend_per_day=figure.spend_per_day,
                    runway_days=figure.runway_days,
                    limit_spent=figure.limit_spent,
                    limit_used_percent=figure.limit_used_percent,
                    limit_amount=amount,
                    limit_duration=duration,
                    limit_strategy=strategy,
                    data_as_of=figure.data_as_of,
                    computed_at=now,
                )
            )
        # An upsert, so two workers refreshing the same account at once cannot trip over each other.
        AccountSummary.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["account"],
            update_fields=SUMMARY_FIELDS,
        )
        stored += len(rows)
    return stored


def refresh_summary(account: Account | int, now: datetime | None = None) -> None:
    """Stores the account's figures as they are now; call it whenever the account's balance, usage or
    spending limit changed locally (sync does after each successful fetch)."""
    refresh_summaries([account], now)


def refresh_balance(account: Account | int, data_as_of: datetime | None, now: datetime | None = None) -> None:
    """After a successful balance sync (whose run finished at `data_as_of`): the latest balance, its runway
    and the new data-as-of into the stored figures, in two reads and a write.

    The spend figures are kept as stored: they change when usage is synced (hourly, which stores them
    again) and as time moves their windows along. So they are computed again here too when they were
    computed on another local day (the 7-day span and fixed limit windows start at local midnight) or
    more than SPEND_FIGURES_MAX_AGE ago (sliding windows), or when the account has no summary yet."""
    now = now or timezone.now()
    pk = account.pk if isinstance(account, Account) else int(account)
    stored = AccountSummary.objects.filter(account_id=pk).values_list("spend_per_day", "computed_at").first()
    if (
        stored is None
        or stored[1] < now - SPEND_FIGURES_MAX_AGE
        or _local_today(stored[1]) != _local_today(now)
    ):
        refresh_summaries([pk], now)
        return
    latest = (
        BalanceSnapshot.objects.filter(account_id=pk)
        .order_by("-taken_at", "-pk")
        .values_list("balance", "taken_at")
        .first()
    )
    balance, taken_at = latest or (None, None)
    AccountSummary.objects.filter(account_id=pk).update(
        balance=balance,
        balance_taken_at=taken_at,
        runway_days=runway(balance, stored[0]),
        data_as_of=data_as_of,
    )


# What stored_figures_of_rows reads: columns for Account.objects.values().
STORED_FIGURES_COLUMNS = [
    "pk",
    "summary__account",
    *(f"summary__{name}" for name in SUMMARY_FIELDS[:-1]),
    "spending_limit__enabled",
    "spending_limit__amount",
    "spending_limit__duration",
    "spending_limit__strategy",
]


def stored_figures(accounts: Iterable[Account], now: datetime | None = None) -> dict[int, AccountFigures]:
    """{account id: AccountFigures} as stored by the last refresh, for pages: one row per account rather than
    the usage history. Fetch the accounts with select_related("summary", "spending_limit") to read them
    without a query each. An account without a summary, or whose spending limit changed since, is computed
    from its history instead (a fixed number of queries for all such accounts together)."""
    rows = []
    for account in accounts:
        row = {"pk": account.pk, "summary__account": None}
        summary = _summary_of(account)
        if summary is not None:
            row["summary__account"] = account.pk
            row.update((f"summary__{name}", getattr(summary, name)) for name in SUMMARY_FIELDS[:-1])
        limit = _spending_limit_of(account)
        if limit is not None:
            row.update(
                spending_limit__enabled=limit.enabled,
                spending_limit__amount=limit.amount,
                spending_limit__duration=limit.duration,
                spending_limit__strategy=limit.strategy,
            )
        rows.append(row)
    return stored_figures_of_rows(rows, now)


def stored_figures_of_rows(rows: Iterable[dict], now: datetime | None = None) -> dict[int, AccountFigures]:
    """stored_figures for rows of Account.objects.values(*STORED_FIGURES_COLUMNS): a page listing many
    accounts reads them without building four model instances per account."""
    now = now or timezone.now()
    stale_before = now - timedelta(minutes=settings.STALE_AFTER_MINUTES)
    figures: dict[int, AccountFigures] = {}
    missing = []
    for row in rows:
        pk = row["pk"]
        if row["summary__account"] is None:
            missing.append(pk)
            continue
        limit = _limit_key(
            row.get("spending_limit__enabled"),
            row.get("spending_limit__amount"),
            row.get("spending_limit__duration"),
            row.get("spending_limit__strategy"),
        )
        stored = (
            row["summary__limit_amount"],
            row["summary__limit_duration"],
            row["summary__limit_strategy"],
        )
        if limit != stored:
            missing.append(pk)
            continue
        data_as_of = row["summary__data_as_of"]
        figures[pk] = AccountFigures(
            account_id=pk,
            balance=row["summary__balance"],
            balance_taken_at=row["summary__balance_taken_at"],
            spend_per_day=row["summary__spend_per_day"],
            runway_days=row["summary__runway_days"],
            limit_spent=row["summary__limit_spent"],
            limit_used_percent=row["summary__limit_used_percent"],
            data_as_of=data_as_of,
            is_stale=data_as_of is None or data_as_of < stale_before,
        )
    if missing:
        figures.update(figures_for_accounts(missing, now))
    return figures


def _spending_limit_of(account: Account) -> SpendingLimit | None:
    try:
        return account.spending_limit
    except Account.spending_limit.RelatedObjectDoesNotExist:
        return None


def _summary_of(account: Account) -> AccountSummary | None:
    try:
        return account.summary
    except Account.summary.RelatedObjectDoesNotExist:
        return None
