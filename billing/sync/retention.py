"""Retention of the local history: old balance snapshots thinned, old sync runs deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Subquery
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from billing.figures.gateway_spend import floor_hour, hourly_history_start
from billing.models import BalanceSnapshot, GatewaySpendDay, GatewaySpendHour, SyncJob, SyncOutcome, SyncRun
from billing.sync.jobs import chunked
from billing.sync.slots import floor_day, forget_slots_before

# Daily gateway spend is kept 13 months (a year and the month before, for a month-on-month comparison).
GATEWAY_SPEND_DAYS = 396


def apply_retention(now: datetime | None = None) -> dict[str, int]:
    """Thins balance snapshots older than 30 days to one per hour, older than a year to one per day (the last
    of each bucket stays), drops gateway spend past its history (hours: GATEWAY_SPEND_BACKFILL_DAYS; days:
    13 months), and deletes finished sync runs older than SYNC_RUN_RETENTION_DAYS except the last success of
    each (account, job). Returns the rows deleted per kind. Safe to run twice or concurrently."""
    now = now or timezone.now()
    month_ago, year_ago = now - timedelta(days=30), now - timedelta(days=365)
    started = timezone.now()
    deleted = {
        "hourly": _thin(year_ago, month_ago, timedelta(hours=1)),
        "daily": _thin(None, year_ago, timedelta(days=1)),
        **_gateway_spend(now),
    }
    keep = (
        SyncRun.objects.filter(outcome=SyncOutcome.SUCCEEDED)
        .values("account_id", "job")
        .annotate(last=Max("pk"))
        .values("last")
    )
    deleted["sync_runs"], _ = (
        SyncRun.objects.filter(started_at__lt=now - timedelta(days=settings.SYNC_RUN_RETENTION_DAYS))
        .exclude(outcome=SyncOutcome.RUNNING)
        .exclude(pk__in=Subquery(keep))
        .delete()
    )
    deleted["sweep_slots"] = forget_slots_before(now - timedelta(days=settings.SYNC_RUN_RETENTION_DAYS))
    SyncRun.objects.create(
        job=SyncJob.RETENTION,
        started_at=started,
        finished_at=timezone.now(),
        outcome=SyncOutcome.SUCCEEDED,
        error=", ".join(f"{kind}: {n} deleted" for kind, n in deleted.items()),
    )
    return deleted


def _gateway_spend(now: datetime) -> dict[str, int]:
    """Hourly gateway spend past the hourly history, daily gateway spend past 13 months."""
    hours, _ = GatewaySpendHour.objects.filter(hour__lt=hourly_history_start(now)).delete()
    days, _ = GatewaySpendDay.objects.filter(
        day__lt=(now - timedelta(days=GATEWAY_SPEND_DAYS)).date()
    ).delete()
    return {"gateway_spend_hours": hours, "gateway_spend_days": days}


def _thin(since: datetime | None, until: datetime, size: timedelta) -> int:
    """Keeps the last snapshot of each `size` bucket (UTC hour or day) in [since, until); returns deleted."""
    rows = BalanceSnapshot.objects.filter(taken_at__lt=until)
    if since is not None:
        rows = rows.filter(taken_at__gte=since)
    trunc = TruncHour if size == timedelta(hours=1) else TruncDay
    crowded = (
        rows.annotate(bucket=trunc("taken_at", tzinfo=UTC))
        .values("account_id", "bucket")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("account_id", "bucket")
    )
    spans: dict[int, tuple[datetime, datetime]] = {}
    for account_id, bucket in crowded:
        low, high = spans.get(account_id, (bucket, bucket))
        spans[account_id] = (min(low, bucket), max(high, bucket))
    deleted = 0
    # One account at a time keeps each delete, and the lock it takes, short.
    for account_id, (low, high) in spans.items():
        seen: set[datetime] = set()
        doomed = []
        snapshots = rows.filter(account_id=account_id, taken_at__gte=low, taken_at__lt=high + size)
        for pk, taken_at in snapshots.order_by("-taken_at", "-pk").values_list("pk", "taken_at"):
            bucket = _bucket(taken_at, size)
            if bucket in seen:
                doomed.append(pk)
            else:
                seen.add(bucket)
        for batch in chunked(doomed, 500):
            deleted += BalanceSnapshot.objects.filter(pk__in=batch).delete()[0]
    return deleted


def _bucket(moment: datetime, size: timedelta) -> datetime:
    return floor_hour(moment) if size == timedelta(hours=1) else floor_day(moment)
