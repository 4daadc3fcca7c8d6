"""The gateway-spend job: Cloudflare's analytics, hourly spend by gateway × model × provider, upserted into
GatewaySpendHour, then rolled up into GatewaySpendDay.

The first sync reads GATEWAY_SPEND_BACKFILL_DAYS of whole UTC days of hours; later ones start at the newest
stored hour less GATEWAY_SPEND_OVERLAP_HOURS, so hours still filling up (analytics lag a few minutes) are read
again and corrected (usually one GraphQL query per account per usage sync).

The dataset's limits come from Cloudflare's `settings` node, stored in AnalyticsSettings and read again once a
day: a read never starts further back than `notOlderThan` allows, is split into queries no wider than
`maxDuration`, asks for at most `maxPageSize` groups, and leaves the optional sums out when the query would
ask for more than `maxNumberOfFields` fields. One query returns at most that many groups: when it is full,
the last hour it reached may be cut, so that hour is left out and the next sync carries on from there.

When Cloudflare refuses the query for a field it does not know, it is asked once more without the optional
sums, and those sums are recorded as not available (the pages say so rather than show a zero). After each
sync the complete UTC days with billed usage above zero but no analytics rows are recorded too: a token
without "Account Analytics: Read" may get empty answers rather than an error.
Days are rolled up in SQL from their stored hours; days older than the hourly history stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.cloudflare import BillingClient, GraphQLError, SpendGroup
from billing.cloudflare.resources_analytics import MAX_GROUPS, OPTIONAL_SUMS, query_field_count
from billing.figures.gateway_spend import floor_hour, hourly_history_start
from billing.models import (
    Account,
    AnalyticsSettings,
    GatewaySpendDay,
    GatewaySpendHour,
    SyncJob,
    SyncRun,
    UsageRecord,
    UsageWindow,
)
from billing.sync.runs import UnitResult, run_unit, text

logger = logging.getLogger("billing.sync")

SUM_FIELDS = (
    "requests",
    "cost",
    "tokens_in",
    "tokens_out",
    "cached_tokens_in",
    "cached_tokens_out",
    "cached_requests",
    "errored_requests",
)
HOUR = timedelta(hours=1)
# How long the dataset's limits, once read, are trusted before the settings node is asked again.
SETTINGS_MAX_AGE = timedelta(days=1)
# Until Cloudflare's settings have been read (or when it answers none for the dataset): one day per query,
# which every plan allows.
FALLBACK_DURATION = timedelta(days=1)
# Kept from the oldest moment `notOlderThan` allows: the portal's and Cloudflare's clocks may differ a little.
AGE_MARGIN = 2 * HOUR


def spend_units(account: Account) -> list[UnitResult]:
    """The gateway-spend unit for one account (its own SyncRun: a failure here never fails the usage)."""
    return [run_unit(SyncJob.GATEWAY_SPEND, account, lambda client: _fetch_spend(client, account))]


def sync_gateway_spend(account: Account) -> SyncRun | None:
    """One analytics read into GatewaySpendHour and GatewaySpendDay; returns the run."""
    return spend_units(account)[0].run


def spend_start(account: Account, now: datetime) -> datetime:
    """Where the next analytics read starts (see the module's docstring), before the dataset's age limit."""
    earliest = hourly_history_start(now)
    newest = (
        GatewaySpendHour.objects.filter(account=account)
        .order_by("-hour")
        .values_list("hour", flat=True)
        .first()
    )
    if newest is None:
        return earliest
    return max(newest - timedelta(hours=settings.GATEWAY_SPEND_OVERLAP_HOURS), earliest)


@dataclass(frozen=True)
class Limits:
    """The dataset's limits as the sync applies them."""

    duration: timedelta  # the widest span of one query, from its first hour to its last
    oldest: datetime | None  # the earliest hour a query may start at (None: no limit known)
    page_size: int
    max_fields: int | None

    @classmethod
    def of(cls, stored: AnalyticsSettings, now: datetime) -> Limits:
        duration = (
            timedelta(seconds=stored.max_duration_seconds)
            if stored.max_duration_seconds
            else FALLBACK_DURATION
        )
        oldest = None
        if stored.not_older_than_seconds:
            oldest = floor_hour(now - timedelta(seconds=stored.not_older_than_seconds)) + AGE_MARGIN
        page = min(stored.max_page_size or MAX_GROUPS, MAX_GROUPS)
        return cls(duration, oldest, max(page, 1), stored.max_number_of_fields or None)

    def spans(self, start: datetime, last: datetime) -> Iterator[tuple[datetime, datetime]]:
        """[first hour, last hour] of each query reading the hours start..last, oldest first: each no wider
        than `duration` (a query of one hour when the limit is below an hour)."""
        step = max(self.duration // HOUR, 1) * HOUR
        while start <= last:
            yield start, min(start + step - HOUR, last)
            start += step


def dataset_settings(client: BillingClient, account: Account, now: datetime) -> AnalyticsSettings:
    """The account's AnalyticsSettings, its limits read again from Cloudflare when a day old (or never read).
    A refusal other than a missing permission keeps the stored limits (or the fallback) and is logged."""
    stored, _ = AnalyticsSettings.objects.get_or_create(account=account)
    if stored.read_at is not None and now - stored.read_at < SETTINGS_MAX_AGE:
        return stored
    try:
        found = client.analytics.dataset_settings(account_id=account.cloudflare_id)
    except GraphQLError as exc:
        logger.warning("analytics settings of %s could not be read: %s", account, exc.message)
        return stored
    if found is None:
        logger.warning("Cloudflare answered no analytics settings for %s; one day per query", account)
    else:
        stored.max_duration_seconds = found.max_duration
        stored.not_older_than_seconds = found.not_older_than
        stored.max_page_size = found.max_page_size
        stored.max_number_of_fields = found.max_number_of_fields
    stored.read_at = now
    stored.save()
    return stored


def _fetch_spend(client: BillingClient, account: Account) -> None:
    now = timezone.now()
    stored = dataset_settings(client, account, now)
    limits = Limits.of(stored, now)
    start = spend_start(account, now)
    if limits.oldest is not None and start < limits.oldest:
        start = limits.oldest
    sums = tuple(OPTIONAL_SUMS)
    if limits.max_fields is not None and query_field_count(sums) > limits.max_fields:
        sums = ()
    last = floor_hour(now)
    for first, until in limits.spans(start, last):
        groups, sums = _read(client, account, first, until, limits.page_size, sums)
        end = until + HOUR
        full = len(groups) >= limits.page_size
        if full:
            cut = max(group.hour for group in groups)
            if cut > first:
                groups = tuple(group for group in groups if group.hour < cut)
                end = cut
            logger.info("gateway spend of %s: a full answer; continuing from %s next sync", account, end)
        store_spend(account, groups, first, end, timezone.now())
        if full:
            break
    _record_findings(stored, [OPTIONAL_SUMS[name] for name in OPTIONAL_SUMS if name not in sums], now)


def _read(
    client: BillingClient,
    account: Account,
    first: datetime,
    last: datetime,
    limit: int,
    sums: tuple[str, ...],
) -> tuple[tuple[SpendGroup, ...], tuple[str, ...]]:
    """(groups, the optional sums they hold): asked once more without the optional sums when Cloudflare
    refuses the query for a field it does not know."""
    try:
        groups = client.analytics.gateway_spend(
            account_id=account.cloudflare_id, start=first, end=last, limit=limit, sums=sums
        )
        return groups, sums
    except GraphQLError as exc:
        if not sums or not exc.unknown_fields:
            raise
        logger.warning(
            "Cloudflare's analytics do not know %s; spend of %s is read without the optional sums",
            ", ".join(exc.unknown_fields),
            account,
        )
    groups = client.analytics.gateway_spend(
        account_id=account.cloudflare_id, start=first, end=last, limit=limit, sums=()
    )
    return groups, ()


def _record_findings(stored: AnalyticsSettings, unavailable: list[str], now: datetime) -> None:
    stored.unavailable_sums = unavailable
    stored.silent_days = [day.isoformat() for day in silent_days(stored.account, now)]
    stored.checked_at = now
    stored.save(update_fields=["unavailable_sums", "silent_days", "checked_at"])


def silent_days(account: Account, now: datetime) -> list[date]:
    """The complete UTC days of the hourly history whose billed usage is above zero but for which the
    analytics hold no rows at all, oldest first."""
    first, today = hourly_history_start(now).date(), now.astimezone(UTC).date()
    billed = (
        UsageRecord.objects.filter(
            account=account, window=UsageWindow.DAY, start__gte=_midnight(first), start__lt=_midnight(today)
        )
        .annotate(day=TruncDate("start", tzinfo=UTC))
        .values("day")
        .annotate(total=Sum("value"))
        .order_by()
        .filter(total__gt=0)
        .values_list("day", flat=True)
    )
    seen = set(
        GatewaySpendDay.objects.filter(account=account, day__gte=first, day__lt=today).values_list(
            "day", flat=True
        )
    )
    return sorted(day for day in billed if day not in seen)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def store_spend(
    account: Account, groups: Iterable[SpendGroup], start: datetime, end: datetime, synced_at: datetime
) -> int:
    """Upserts the hourly groups for [start, end), deletes the stored hours of that span that the answer no
    longer has, and rolls the days it touches up into GatewaySpendDay. Returns the hour rows written."""
    rows = {}
    for group in groups:
        key = (
            floor_hour(group.hour),
            text(group.gateway, 128),
            text(group.model, 200),
            text(group.provider, 100),
        )
        rows[key] = GatewaySpendHour(
            account=account,
            hour=key[0],
            gateway=key[1],
            model=key[2],
            provider=key[3],
            synced_at=synced_at,
            **{name: getattr(group, name) for name in SUM_FIELDS},
        )
    with transaction.atomic():
        GatewaySpendHour.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["account", "hour", "gateway", "model", "provider"],
            update_fields=[*SUM_FIELDS, "synced_at"],
            batch_size=500,
        )
        stored = GatewaySpendHour.objects.filter(account=account, hour__gte=start, hour__lt=end)
        gone = [
            pk
            for pk, *key in stored.values_list("pk", "hour", "gateway", "model", "provider")
            if tuple(key) not in rows
        ]
        if gone:
            GatewaySpendHour.objects.filter(pk__in=gone).delete()
        roll_up_days(
            account, start.astimezone(UTC).date(), (end - timedelta(seconds=1)).astimezone(UTC).date()
        )
    return len(rows)


def roll_up_days(account: Account, first: date, last: date) -> int:
    """GatewaySpendDay for the UTC days first..last, summed in SQL from their stored hours (a day's rows are
    replaced by its hours' sums). Returns the day rows written."""
    since = datetime.combine(first, time.min, tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    sums = (
        GatewaySpendHour.objects.filter(account=account, hour__gte=since, hour__lt=until)
        .annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("day", "gateway", "model", "provider")
        .annotate(**{f"total_{name}": Sum(name) for name in SUM_FIELDS})
        .order_by()
    )
    now = timezone.now()
    days = [
        GatewaySpendDay(
            account=account,
            day=row["day"],
            gateway=row["gateway"],
            model=row["model"],
            provider=row["provider"],
            synced_at=now,
            **{name: row[f"total_{name}"] or 0 for name in SUM_FIELDS},
        )
        for row in sums
    ]
    GatewaySpendDay.objects.filter(account=account, day__gte=first, day__lte=last).delete()
    GatewaySpendDay.objects.bulk_create(days, batch_size=500)
    return len(days)
