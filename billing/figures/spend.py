"""How spend over a span of time is read from usage rows (the one rule every figure uses), the spans the
figures ask about, runway, and whether a spending limit is usable.


For a span [a, b):
- a UTC day wholly inside the span counts its day row when there is one, else the sum of its hour rows;
- a UTC day that the span cuts counts its hour rows that start inside the span; when that day has no hour rows
  (older than the hourly history), its day row counts in proportion to the overlap.
Days are Cloudflare's UTC days; local days (settings.TIME_ZONE) are spans like any other. Amounts are Decimal
dollars, rounded to 6 places (the precision of the tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from billing.models import (
    Account,
    LimitDuration,
    LimitStrategy,
    SpendingLimit,
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
SLIDING: dict[str, timedelta] = {
    LimitDuration.DAILY: timedelta(days=1),
    LimitDuration.WEEKLY: timedelta(days=7),
    LimitDuration.MONTHLY: timedelta(days=30),
}


# --- time spans -------------------------------------------------------------------------------------------
def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.get_default_timezone()).astimezone(UTC)


def local_today(now: datetime) -> date:
    return now.astimezone(timezone.get_default_timezone()).date()


def utc_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def limit_window_start(duration: str, strategy: str, now: datetime) -> datetime:
    """Start of the spending limit's current window: fixed windows begin at local midnight, Monday 00:00 or
    the 1st of the month (settings.TIME_ZONE); sliding ones are the last 24 hours, 7 days or 30 days."""
    if strategy == LimitStrategy.SLIDING:
        return now - SLIDING[duration]
    today = local_today(now)
    if duration == LimitDuration.DAILY:
        return local_midnight(today)
    if duration == LimitDuration.WEEKLY:
        return local_midnight(today - timedelta(days=today.weekday()))
    return local_midnight(today.replace(day=1))


def spend_span(now: datetime) -> tuple[datetime, datetime]:
    today = local_today(now)
    return local_midnight(today - timedelta(days=SPEND_DAYS)), local_midnight(today)


def edge_days(start: datetime, end: datetime) -> set[datetime]:
    """The UTC days that [start, end) cuts rather than covers whole."""
    edges = set()
    if utc_day(start) != start:
        edges.add(utc_day(start))
    if utc_day(end) != end:
        edges.add(utc_day(end))
    return edges


def day_runs(days: list[datetime]) -> list[tuple[datetime, datetime]]:
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
class Usage:
    """One account's usage rows, as much of them as the spans asked about need."""

    days: dict[datetime, Decimal] = field(default_factory=dict)  # UTC day -> day row value
    hour_days: dict[datetime, Decimal] = field(default_factory=dict)  # UTC day -> sum of its hour rows
    hours: list[tuple[datetime, Decimal]] = field(default_factory=list)  # hour rows of the days spans cut

    @property
    def empty(self) -> bool:
        return not (self.days or self.hour_days or self.hours)

    def spend(self, start: datetime, end: datetime) -> Decimal:
        total = ZERO
        day = utc_day(start)
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


def usage_for(account_id: int, start: datetime, end: datetime) -> Usage:
    """Every usage row of one account touching [start, end), whole UTC days."""
    usage = Usage()
    rows = UsageRecord.objects.filter(account_id=account_id, start__gte=utc_day(start), start__lt=end)
    for window, at, value in rows.values_list("window", "start", "value"):
        if window == UsageWindow.DAY:
            usage.days[utc_day(at)] = usage.days.get(utc_day(at), ZERO) + value
        else:
            usage.hours.append((at, value))
            usage.hour_days[utc_day(at)] = usage.hour_days.get(utc_day(at), ZERO) + value
    return usage


def runway(balance: Decimal | None, spend_per_day: Decimal | None) -> Decimal | None:
    """Days of credit left at this spend, rounded down to a tenth; 0 when the balance is spent already."""
    if balance is None:
        return None
    if balance <= 0:
        return ZERO
    if not spend_per_day or spend_per_day <= 0:
        return None
    return (balance / spend_per_day).quantize(TENTH, rounding=ROUND_DOWN)


def limit_of(account: Account) -> SpendingLimit | None:
    limit = spending_limit_of(account)
    return None if limit is None else usable_limit(limit)


def usable_limit(limit: SpendingLimit) -> SpendingLimit | None:
    """The limit if it is on and complete enough to measure spend against, else None."""
    if (
        not limit.enabled
        or limit.amount is None
        or limit.duration not in DURATIONS
        or limit.strategy not in STRATEGIES
    ):
        return None
    return limit


def spending_limit_of(account: Account) -> SpendingLimit | None:
    try:
        return account.spending_limit
    except Account.spending_limit.RelatedObjectDoesNotExist:
        return None
