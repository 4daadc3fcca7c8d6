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
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from billing.models import (
    Account,
    BalanceSnapshot,
    LimitDuration,
    LimitStrategy,
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
    """{account id: AccountFigures} for accounts (Account instances or ids), in at most five queries whatever
    their number."""
    now = now or timezone.now()
    ids = [a.pk if isinstance(a, Account) else int(a) for a in accounts]
    if not ids:
        return {}
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
    per_day = (
        recent.filter(window=UsageWindow.HOUR)
        .annotate(day=TruncDay("start", tzinfo=UTC))
        .values("account_id", "day")
        .annotate(total=Sum("value"), n=Count("pk"))
        .values_list("account_id", "day", "total")
    )
    for account_id, day, total in per_day:
        usage[account_id].hour_days[day] = total
    # Hour rows only where a span cuts a day that has them: a few days per account, not a month.
    wanted = []
    for pk, account_spans in spans.items():
        edges = set().union(*(_edge_days(start, end) for start, end in account_spans))
        hour_days = usage[pk].hour_days if pk in usage else {}
        wanted += [Q(account_id=pk, start__gte=day, start__lt=day + DAY) for day in edges if day in hour_days]
    if wanted:
        hours = recent.filter(reduce(operator.or_, wanted), window=UsageWindow.HOUR)
        for account_id, at, value in hours.values_list("account_id", "start", "value"):
            usage[account_id].hours.append((at, value))

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
    return figures


def runway(balance: Decimal | None, spend_per_day: Decimal | None) -> Decimal | None:
    """Days of credit left at this spend, rounded down to a tenth; 0 when the balance is spent already."""
    if balance is None:
        return None
    if balance <= 0:
        return ZERO
    if not spend_per_day or spend_per_day <= 0:
        return None
    return (balance / spend_per_day).quantize(TENTH, rounding=ROUND_DOWN)


def _limit_of(account: Account):
    try:
        limit = account.spending_limit
    except Account.spending_limit.RelatedObjectDoesNotExist:
        return None
    if (
        not limit.enabled
        or limit.amount is None
        or limit.duration not in LimitDuration.values
        or limit.strategy not in LimitStrategy.values
    ):
        return None
    return limit
