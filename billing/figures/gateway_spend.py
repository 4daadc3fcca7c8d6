"""Gateway spend over a range: Cloudflare's analytics estimate (GatewaySpendHour, GatewaySpendDay) summed by
any of gateway, model and provider, read one way for the Gateways tab, the breakdown and its CSV, the account
page's "where the money goes", digests, and the complete hours of a rule's window.

What a preset means is written once, in PRESETS and PRESET_MEANING, and shown wherever the range is
shown (`Range.meaning`): "Last 7 days" is the 7 × 24 hours that end with the last complete hour (UTC). The
hour under way is never counted (its analytics are still arriving), so a figure holds still until the hour
ends, and the same range reads the same on every page, in the CSV and in a digest.

How a range [start, end) is read (`spend_over`):
- a UTC day wholly inside it counts its day rows (the sync rolls each day up from its hours, and they are all
  that is left of a day once its hours are past the hourly history, GATEWAY_SPEND_BACKFILL_DAYS);
- a UTC day it cuts counts its hour rows that start inside it; when that day is older than the hourly history
  its hours are gone, and it is left out: a range starting there really starts at the midnight after;
- a range starting before the analytics history (`history_of`) really starts where the history does.
The real start is given beside the figures (`GatewaySpend.data_from`), so a page and a CSV say "data from
Nov 22 only" rather than present a shorter history as the whole range. Amounts are Decimal dollars.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum

from billing.models import (
    Account,
    AnalyticsSettings,
    GatewaySpendDay,
    GatewaySpendHour,
    SyncJob,
    SyncOutcome,
    SyncRun,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MICRO = Decimal("0.000001")
# What every group sums (the breakdown's columns, the CSV's, the Gateways tab's).
SPEND_SUMS = ("requests", "cost", "tokens_in", "tokens_out", "cached_requests", "errored_requests")
# How a sum Cloudflare may not answer is named where the pages say it is not available.
SUM_LABELS = {
    "tokens_in": "tokens in",
    "tokens_out": "tokens out",
    "cached_tokens_in": "cached tokens in",
    "cached_tokens_out": "cached tokens out",
    "cached_requests": "cache hits",
    "errored_requests": "errors",
}


@dataclass(frozen=True)
class Preset:
    label: str
    length: timedelta
    hours: str  # how many hours, in words, for the meaning


PRESETS = {
    "24h": Preset("Last 24 hours", timedelta(hours=24), "the 24 hours"),
    "7d": Preset("Last 7 days", timedelta(days=7), "the 7 × 24 hours"),
    "30d": Preset("Last 30 days", timedelta(days=30), "the 30 × 24 hours"),
    "90d": Preset("Last 90 days", timedelta(days=90), "the 90 × 24 hours"),
}
DEFAULT_PRESET = "7d"
PRESET_MEANING = "{hours} ending with the last complete hour (UTC); the hour under way is not counted"
DAYS_MEANING = (
    "whole UTC days, midnight to midnight, the last one included (today up to the last complete hour)"
)


@dataclass(frozen=True)
class Range:
    """[start, end) in UTC, with its name and the one sentence that says what it covers."""

    start: datetime
    end: datetime
    label: str
    meaning: str
    key: str = "custom"


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def preset(key: str, now: datetime) -> Range:
    """The preset `key` ("24h", "7d", "30d", "90d") as it is at `now`; KeyError for another key."""
    chosen = PRESETS[key]
    end = floor_hour(now)
    meaning = PRESET_MEANING.format(hours=chosen.hours)
    return Range(end - chosen.length, end, chosen.label, meaning, key)


def whole_days(first: date, last: date, now: datetime) -> Range:
    """The UTC days first..last (both included), ending at the last complete hour when `last` is today."""
    end = min(utc_midnight(last + DAY), floor_hour(now))
    return Range(utc_midnight(first), end, f"UTC days {first:%Y-%m-%d} to {last:%Y-%m-%d}", DAYS_MEANING)


# --- what the local analytics hold --------------------------------------------------------------------
def hourly_history_start(now: datetime) -> datetime:
    """The oldest hour the hourly spend history keeps (a UTC midnight): GATEWAY_SPEND_BACKFILL_DAYS back."""
    return floor_hour(now - timedelta(days=settings.GATEWAY_SPEND_BACKFILL_DAYS)).replace(hour=0)


@dataclass(frozen=True)
class History:
    """What the local analytics of an account hold: data from `starts` (None: none, or not asked) and hour
    rows from `hours_from` (older days are kept as day rows only); the sums Cloudflare did not answer at the
    last sync (`unavailable`: SPEND_SUMS names, shown as "not available from Cloudflare", not as zero) and
    the UTC days with billed usage but no analytics rows (`silent_days`: the token may lack "Account
    Analytics: Read")."""

    starts: datetime | None
    hours_from: datetime
    unavailable: frozenset[str] = frozenset()
    silent_days: tuple[date, ...] = ()


def history_of(account_id: int, now: datetime) -> History:
    """Where the account's analytics history starts, in one query (and what the last sync found, in one
    more): the earliest of its first stored day or
    hour and the hourly history its oldest successful analytics run read (the first sync reads
    GATEWAY_SPEND_BACKFILL_DAYS of whole UTC days, so a quiet first day is data too). Once that run is
    deleted (SYNC_RUN_RETENTION_DAYS) the stored rows say it."""
    first_run = SyncRun.objects.filter(
        account=OuterRef("pk"), job=SyncJob.GATEWAY_SPEND, outcome=SyncOutcome.SUCCEEDED
    ).order_by("started_at")
    row = (
        Account.objects.filter(pk=account_id)
        .annotate(
            first_day=Subquery(
                GatewaySpendDay.objects.filter(account=OuterRef("pk")).order_by("day").values("day")[:1]
            ),
            first_hour=Subquery(
                GatewaySpendHour.objects.filter(account=OuterRef("pk")).order_by("hour").values("hour")[:1]
            ),
            first_run=Subquery(first_run.values("started_at")[:1]),
        )
        .values("first_day", "first_hour", "first_run")
        .first()
    ) or {}
    findings: Mapping[str, Any] = (
        AnalyticsSettings.objects.filter(account_id=account_id)
        .values("unavailable_sums", "silent_days")
        .first()
    ) or {}
    found = []
    if row.get("first_day") is not None:
        found.append(utc_midnight(row["first_day"]))
    if row.get("first_hour") is not None:
        found.append(row["first_hour"].astimezone(UTC).replace(hour=0))
    if row.get("first_run") is not None:
        found.append(hourly_history_start(row["first_run"]))
    return History(
        min(found, default=None),
        hourly_history_start(now),
        frozenset(findings.get("unavailable_sums") or ()),
        tuple(date.fromisoformat(day) for day in findings.get("silent_days") or ()),
    )


# --- the one reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    days: list[date]  # whole UTC days, read from day rows
    hours: list[tuple[datetime, datetime]]  # the parts of cut days, read from hour rows
    start: datetime  # where the reading really starts


def _plan(start: datetime, end: datetime, hours_from: datetime) -> _Plan:
    """How [start, end) is read, day by UTC day (see the module); a cut last day older than the hourly history
    is left out too, which no range the portal builds has (they end at a midnight or a recent hour)."""
    days, hours, real_start = [], [], start
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        following = day + DAY
        if start <= day and following <= end:
            days.append(day.date())
        elif day >= hours_from:
            hours.append((max(start, day), min(end, following)))
        elif day < start:
            real_start = following  # a cut first day whose hours are gone
        day = following
    return _Plan(days, hours, real_start)


def _scoped(rows: QuerySet, gateway: str, models: Iterable[str], providers: Iterable[str]) -> QuerySet:
    if gateway:
        rows = rows.filter(gateway=gateway)
    if models:
        rows = rows.filter(model__in=list(models))
    if providers:
        rows = rows.filter(provider__in=list(providers))
    return rows


def hour_rows(
    account_id: int, gateway: str = "", models: Iterable[str] = (), providers: Iterable[str] = ()
) -> QuerySet:
    """The account's hour rows, of one gateway, models and providers when given."""
    return _scoped(GatewaySpendHour.objects.filter(account_id=account_id), gateway, models, providers)


def _row_sets(
    account_id: int, plan: _Plan, gateway: str = "", models: Iterable[str] = (), providers: Iterable[str] = ()
) -> list[QuerySet]:
    """The day rows and hour rows the plan reads (none, one or both)."""
    sets = []
    if plan.days:
        days = GatewaySpendDay.objects.filter(
            account_id=account_id, day__gte=plan.days[0], day__lte=plan.days[-1]
        )
        sets.append(_scoped(days, gateway, models, providers))
    if plan.hours:
        spans = reduce(operator.or_, (Q(hour__gte=a, hour__lt=b) for a, b in plan.hours))
        sets.append(hour_rows(account_id, gateway, models, providers).filter(spans))
    return sets


def _zero_sums() -> dict:
    return {f"total_{name}": (Decimal(0) if name == "cost" else 0) for name in SPEND_SUMS}


def regroup(groups: list[dict], *fields: str) -> list[dict]:
    """Groups summed again by `fields` (fewer than they have: model and provider groups by provider; none:
    one group of everything), the costliest first, ties by name."""
    merged: dict[tuple, dict] = {}
    for group in groups:
        key = tuple(group[name] for name in fields)
        into = merged.setdefault(key, {**dict(zip(fields, key, strict=True)), **_zero_sums()})
        for name in SPEND_SUMS:
            into[f"total_{name}"] += group[f"total_{name}"] or 0
    for group in merged.values():
        group["total_cost"] = Decimal(group["total_cost"]).quantize(MICRO)
    return sorted(merged.values(), key=lambda g: (-g["total_cost"], *(str(g[name] or "") for name in fields)))


def _sums(row_sets: list[QuerySet], fields: tuple[str, ...]) -> list[dict]:
    totals = {f"total_{name}": Sum(name) for name in SPEND_SUMS}
    groups = []
    for rows in row_sets:
        if fields:
            groups.extend(rows.values(*fields).annotate(**totals).order_by())
        else:
            groups.append(rows.aggregate(**totals))
    return regroup(groups, *fields) if groups else []


# Why a range's data starts later than the range (GatewaySpend.why).
BEFORE_HISTORY = "the analytics history starts then"
HOURS_GONE = "hours older than the hourly history are kept only as whole UTC days"


@dataclass(frozen=True)
class GatewaySpend:
    """A range's spend summed by `fields`, where its figures really start, and what they were read from."""

    range: Range
    data_from: datetime  # the range's start, or later when the history does not reach it (see the module)
    why: str  # why data_from is later than the range's start ("" when it is not)
    source: str  # the rows read: "daily", "hourly", "daily+hourly" (whole days and cut ones) or "none"
    fields: tuple[str, ...]
    groups: list[dict]  # {field: value, "total_cost": …, "total_requests": …}, the costliest first
    unavailable: frozenset[str] = frozenset()  # SPEND_SUMS Cloudflare did not answer: "not available"
    silent_days: tuple[date, ...] = ()  # billed usage above zero, no analytics rows (see History)

    @property
    def clipped(self) -> bool:
        return self.data_from > self.range.start

    @property
    def unavailable_labels(self) -> list[str]:
        """The sums Cloudflare did not answer, in words, in a fixed order."""
        return [label for name, label in SUM_LABELS.items() if name in self.unavailable]

    @property
    def total(self) -> Decimal:
        return sum((group["total_cost"] for group in self.groups), Decimal(0))

    def by(self, *fields: str) -> list[dict]:
        """The groups summed by fewer fields, the costliest first."""
        return regroup(self.groups, *fields)


def spend_over(
    account_id: int,
    span: Range,
    *fields: str,
    history: History,
    gateway: str = "",
    models: Iterable[str] = (),
    providers: Iterable[str] = (),
) -> GatewaySpend:
    """The account's gateway spend over `span` summed by `fields` (any of "gateway", "model", "provider"), of
    one gateway, models and providers when given; read as the module says, in at most two queries."""
    plan = _plan(span.start, span.end, history.hours_from)
    groups = _sums(_row_sets(account_id, plan, gateway, models, providers), fields)
    data_from, why = plan.start, HOURS_GONE if plan.start > span.start else ""
    if history.starts is not None and history.starts > data_from:
        data_from, why = min(history.starts, span.end), BEFORE_HISTORY
    read = [name for name, parts in (("daily", plan.days), ("hourly", plan.hours)) if parts]
    return GatewaySpend(
        span,
        data_from,
        why,
        "+".join(read) or "none",
        fields,
        groups,
        history.unavailable,
        history.silent_days,
    )


def cost_between(
    account_id: int, start: datetime, end: datetime, hours_from: datetime, **scope: Any
) -> Decimal:
    """Dollars of [start, end) read as `spend_over` reads a range (the complete hours of a rule's window)."""
    plan = _plan(start, end, hours_from)
    groups = _sums(_row_sets(account_id, plan, **scope), ())
    return groups[0]["total_cost"] if groups else Decimal(0)


def spend_series(account_id: int, span: Range, history: History, gateway: str = "") -> tuple[list, bool]:
    """([(bucket start, dollars)], hourly) oldest first: per hour when the range lies within the hourly
    history, else per UTC day, read as `spend_over` reads the range (so the bars add up to its total)."""
    if span.start < history.hours_from:
        return _daily(account_id, _plan(span.start, span.end, history.hours_from), gateway), False
    hours = hour_rows(account_id, gateway).filter(hour__gte=span.start, hour__lt=span.end)
    per_hour = hours.values("hour").annotate(total=Sum("cost")).order_by("hour")
    return list(per_hour.values_list("hour", "total")), True


def _daily(account_id: int, plan: _Plan, gateway: str = "") -> list[tuple[datetime, Decimal]]:
    """[(UTC midnight, dollars)] of the plan's days, oldest first: day rows, and the hours of cut days."""
    totals: dict[datetime, Decimal] = {}
    for rows in _row_sets(account_id, plan, gateway):
        column = "day" if rows.model is GatewaySpendDay else "hour"
        for at, cost in (
            rows.values(column).annotate(total=Sum("cost")).order_by().values_list(column, "total")
        ):
            day = utc_midnight(at) if column == "day" else at.astimezone(UTC).replace(hour=0)
            totals[day] = totals.get(day, Decimal(0)) + cost
    return sorted(totals.items())


def cost_by_day(account_id: int, first: date, last: date, now: datetime) -> dict[date, Decimal]:
    """{UTC day: the analytics' dollars}, every gateway summed, for the days first..last (today up to the last
    complete hour), read as `spend_over` reads them."""
    span = whole_days(first, last, now)
    days = _daily(account_id, _plan(span.start, span.end, hourly_history_start(now)))
    return {at.date(): total for at, total in days}
