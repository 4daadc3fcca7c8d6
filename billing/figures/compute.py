"""Derived figures computed from the history: per account in a fixed number of queries, or per account and
day for the alerts and forms."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from billing.figures.month import Month, month_of, month_spans
from billing.figures.spend import (
    DAY,
    MICRO,
    SPEND_DAYS,
    TENTH,
    ZERO,
    Usage,
    day_runs,
    edge_days,
    limit_of,
    limit_window_start,
    local_midnight,
    local_today,
    runway,
    spend_span,
    usage_for,
    utc_day,
)
from billing.models import (
    Account,
    BalanceSnapshot,
    SpendingLimit,
    SyncJob,
    SyncOutcome,
    SyncRun,
    UsageRecord,
    UsageWindow,
)


class _Latest(TypedDict):
    latest_balance: Decimal | None
    latest_taken_at: datetime | None
    data_as_of: datetime | None
    usage_synced: bool
    first_usage_at: datetime | None


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # An account as _account_rows reads it: its latest balance, last balance run and whether usage synced.
    AccountRow = WithAnnotations[Account, _Latest]


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
    month: Month | None = None  # the UTC month so far and its forecast (billing.figures.month)


# --- single-account figures -------------------------------------------------------------------------------
def daily_spend(account: Account, days: int, now: datetime | None = None) -> list[tuple[date, Decimal]]:
    """[(local day, dollars)] for the last `days` days in settings.TIME_ZONE, oldest first, today (partial)
    last; days without usage are 0."""
    now = now or timezone.now()
    today = local_today(now)
    first = today - timedelta(days=days - 1)
    usage = usage_for(account.pk, local_midnight(first), local_midnight(today + timedelta(days=1)))
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        series.append((day, usage.spend(local_midnight(day), local_midnight(day + timedelta(days=1)))))
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
    return usage_for(account.pk, start, now).spend(start, now)


def figures_for(account: Account, now: datetime | None = None) -> AccountFigures:
    return figures_for_accounts([account], now)[account.pk]


# --- many accounts, a fixed number of queries -------------------------------------------------------------
def figures_for_accounts(accounts: Iterable, now: datetime | None = None) -> dict[int, AccountFigures]:
    """{account id: AccountFigures} for accounts (Account instances or ids), computed now from the history, in
    at most three queries whatever their number."""
    now = now or timezone.now()
    return compute([a.pk if isinstance(a, Account) else int(a) for a in accounts], now)[0]


def compute(ids: list[int], now: datetime) -> tuple[dict[int, AccountFigures], dict[int, SpendingLimit]]:
    """The figures of these accounts, and the (usable) spending limits they were computed with."""
    accounts_by_id = _account_rows(ids) if ids else {}
    if not accounts_by_id:
        return {}, {}
    spans, limits = _spans_of(accounts_by_id, now)
    month = month_spans(now)
    usage = _usage_of(ids, {pk: [*account_spans, *month] for pk, account_spans in spans.items()}, now)
    stale_before = now - timedelta(minutes=settings.STALE_AFTER_MINUTES)
    figures = {
        pk: _figures_of(row, usage.get(pk, Usage()), spans[pk], limits.get(pk), stale_before, now)
        for pk, row in accounts_by_id.items()
    }
    return figures, limits


def _account_rows(ids: list[int]) -> dict[int, AccountRow]:
    """The accounts with their spending limit, latest balance, last successful balance run and whether usage
    was ever synced (one query)."""
    latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at", "-pk")
    balance_runs = SyncRun.objects.filter(
        account=OuterRef("pk"), job=SyncJob.BALANCE, outcome=SyncOutcome.SUCCEEDED
    ).order_by("-started_at")
    rows = (
        Account.objects.filter(pk__in=ids)
        .select_related("spending_limit")
        .annotate(
            latest_balance=Subquery(latest.values("balance")[:1]),
            latest_taken_at=Subquery(latest.values("taken_at")[:1]),
            data_as_of=Subquery(balance_runs.values("finished_at")[:1]),
            first_usage_at=Subquery(
                UsageRecord.objects.filter(account=OuterRef("pk"), window=UsageWindow.DAY)
                .order_by("start")
                .values("start")[:1]
            ),
            usage_synced=Exists(
                SyncRun.objects.filter(
                    account=OuterRef("pk"), job=SyncJob.USAGE, outcome=SyncOutcome.SUCCEEDED
                )
            ),
        )
    )
    return {row.pk: row for row in rows}


def _spans_of(accounts_by_id: dict[int, AccountRow], now: datetime) -> tuple[dict, dict[int, SpendingLimit]]:
    """The spans each account needs (the last 7 full days, then its limit's window) and its usable limit."""
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    limits = {}
    for pk, row in accounts_by_id.items():
        spans[pk] = [spend_span(now)]
        limit = limit_of(row)
        if limit is not None:
            limits[pk] = limit
            spans[pk].append((limit_window_start(limit.duration, limit.strategy, now), now))
    return spans, limits


def _usage_of(ids: list[int], spans: dict, now: datetime) -> dict[int, Usage]:
    """The usage rows the spans need: every day row since the earliest span, and the hour rows of the days a
    span cuts or that have no day row (two queries)."""
    earliest = utc_day(min(start for account_spans in spans.values() for start, _ in account_spans))
    usage: dict[int, Usage] = defaultdict(Usage)
    recent = UsageRecord.objects.filter(account_id__in=ids, start__gte=earliest, start__lt=now)
    day_rows = recent.filter(window=UsageWindow.DAY).values_list("account_id", "start", "value")
    for account_id, at, value in day_rows:
        days = usage[account_id].days
        days[utc_day(at)] = days.get(utc_day(at), ZERO) + value
    wanted = _hour_conditions(spans, usage)
    if wanted:
        hours = recent.filter(reduce(operator.or_, wanted), window=UsageWindow.HOUR)
        for account_id, at, value in hours.values_list("account_id", "start", "value"):
            account_usage = usage[account_id]
            account_usage.hours.append((at, value))
            day = utc_day(at)
            account_usage.hour_days[day] = account_usage.hour_days.get(day, ZERO) + value
    return usage


def _hour_conditions(spans: dict, usage: dict[int, Usage]) -> list[Q]:
    """Which hour rows to read, as a few conditions.

    A day wholly inside a span counts its day row whenever there is one, so hour rows are needed only for the
    days a span cuts and the whole days without a day row: a few days per account, not a month of hours.
    Accounts needing the same days share their conditions, and runs of days become one range: a handful of
    conditions rather than one per account and day, which costs more than the rows themselves."""
    accounts_by_day: dict[datetime, set[int]] = defaultdict(set)
    for pk, account_spans in spans.items():
        days = usage[pk].days if pk in usage else {}
        needed: set[datetime] = set()
        for start, end in account_spans:
            needed |= edge_days(start, end)
            day = utc_day(start)
            while day < end:
                if day not in days:
                    needed.add(day)
                day += DAY
        for day in needed:
            accounts_by_day[day].add(pk)
    days_by_accounts: dict[frozenset[int], list[datetime]] = defaultdict(list)
    for day, pks in accounts_by_day.items():
        days_by_accounts[frozenset(pks)].append(day)
    return [
        Q(account_id__in=sorted(pks), start__gte=first, start__lt=last + DAY)
        for pks, days in days_by_accounts.items()
        for first, last in day_runs(sorted(days))
    ]


def _figures_of(
    row: AccountRow,
    usage: Usage,
    spans: list[tuple[datetime, datetime]],
    limit: SpendingLimit | None,
    stale_before: datetime,
    now: datetime,
) -> AccountFigures:
    spend_per_day = None
    if row.usage_synced or not usage.empty:
        start, end = spans[0]
        spend_per_day = (usage.spend(start, end) / SPEND_DAYS).quantize(MICRO)
    limit_spent = limit_used = None
    if limit is not None:
        limit_spent = usage.spend(*spans[1])
        if limit.amount > 0:
            limit_used = (limit_spent * 100 / limit.amount).quantize(TENTH)
    return AccountFigures(
        account_id=row.pk,
        balance=row.latest_balance,
        balance_taken_at=row.latest_taken_at,
        spend_per_day=spend_per_day,
        runway_days=runway(row.latest_balance, spend_per_day),
        limit_spent=limit_spent,
        limit_used_percent=limit_used,
        data_as_of=row.data_as_of,
        is_stale=row.data_as_of is None or row.data_as_of < stale_before,
        month=month_of(usage, row.first_usage_at, now) if row.usage_synced or not usage.empty else None,
    )
