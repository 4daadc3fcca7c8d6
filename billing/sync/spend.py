"""The gateway-spend job: Cloudflare's analytics, hourly spend by gateway × model × provider (one GraphQL call
per account per usage sync), upserted into GatewaySpendHour, then rolled up into GatewaySpendDay.

The first sync reads GATEWAY_SPEND_BACKFILL_DAYS of whole UTC days of hours; later ones start at the newest
stored hour less GATEWAY_SPEND_OVERLAP_HOURS, so hours still filling up (analytics lag a few minutes) are read
again and corrected. One call returns at most MAX_GROUPS groups: when it is full, the last hour it reached may
be cut, so that hour is left out and the next sync carries on from there (a large backfill takes a few syncs).
Days are rolled up in SQL from their stored hours; days older than the hourly history stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.cloudflare import BillingClient, SpendGroup
from billing.cloudflare.resources_analytics import MAX_GROUPS
from billing.figures.gateway_spend import floor_hour, hourly_history_start
from billing.models import Account, GatewaySpendDay, GatewaySpendHour, SyncJob, SyncRun
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


def spend_units(account: Account) -> list[UnitResult]:
    """The gateway-spend unit for one account (its own SyncRun: a failure here never fails the usage)."""
    return [run_unit(SyncJob.GATEWAY_SPEND, account, lambda client: _fetch_spend(client, account))]


def sync_gateway_spend(account: Account) -> SyncRun | None:
    """One analytics read into GatewaySpendHour and GatewaySpendDay; returns the run."""
    return spend_units(account)[0].run


def spend_start(account: Account, now: datetime) -> datetime:
    """Where the next analytics read starts (see the module's docstring)."""
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


def _fetch_spend(client: BillingClient, account: Account) -> None:
    now = timezone.now()
    start = spend_start(account, now)
    # A token without "Account Analytics: Read" raises GraphQLPermissionError, whose message says so: the
    # run records it and the pages show it as the next step.
    groups: Sequence[SpendGroup] = client.analytics.gateway_spend(
        account_id=account.cloudflare_id, start=start, end=floor_hour(now), limit=MAX_GROUPS
    )
    end = floor_hour(now) + timedelta(hours=1)
    if len(groups) >= MAX_GROUPS:
        last = max(group.hour for group in groups)
        if last > start:
            groups = [group for group in groups if group.hour < last]
            end = last
        logger.info("gateway spend of %s: a full answer; continuing from %s next sync", account, end)
    store_spend(account, groups, start, end, timezone.now())


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
