"""The usage job: daily and hourly usage history (two calls), upserted into UsageRecord."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.cloudflare import BillingClient
from billing.figures.gateway_spend import floor_hour
from billing.models import Account, SyncJob, SyncRun, UsageRecord, UsageWindow
from billing.money import datetime_to_ms, ms_to_datetime, usage_to_dollars
from billing.sync.balance import store_figures
from billing.sync.gateways import gateway_unit, gateways_due, refresh_windows
from billing.sync.runs import UnitResult, run_unit, text
from billing.sync.slots import floor_day
from billing.sync.spend import spend_units


def usage_units(
    account: Account, backfill_days: int | None = None, *, always_fetch_gateways: bool = False
) -> list[UnitResult]:
    """The usage job for one account: the billed usage (two calls; the job's main unit), the gateways when
    due (or always), and the spend analytics (one GraphQL call), each its own run, so a token that may not
    read analytics fails only the analytics run. The rules' windows are computed once, after them."""
    results = [usage_unit(account, backfill_days)]
    if always_fetch_gateways or gateways_due(account):
        results.append(gateway_unit(account))
    results += spend_units(account)
    if any(r.succeeded for r in results[1:]):
        refresh_windows(account)
    return results


def usage_unit(account: Account, backfill_days: int | None = None) -> UnitResult:
    result = run_unit(SyncJob.USAGE, account, lambda client: _fetch_usage(client, account, backfill_days))
    if result.succeeded:
        store_figures(account)
    return result


def sync_usage(account: Account, backfill_days: int | None = None) -> SyncRun | None:
    """Fetches the day and the hour windows (two API calls) and upserts UsageRecord rows (the usage unit
    alone: the usage job, `usage_units`, reads the gateway spend after it)."""
    return usage_unit(account, backfill_days).run


def usage_window_start(
    account: Account, window: str, now: datetime, backfill_days: int | None = None
) -> datetime:
    """Where a usage fetch of `window` starts.

    With `backfill_days`: that many days back. On the first sync: USAGE_BACKFILL_DAYS of days and
    USAGE_BACKFILL_HOURS_DAYS of hours. Afterwards: from the newest stored bucket, less one day for days and
    USAGE_HOUR_OVERLAP_HOURS for hours, so partial and late buckets are fetched again and corrected (and a
    worker that was down fills its gap), never further back than the backfill.
    """
    hour_days = settings.USAGE_BACKFILL_HOURS_DAYS
    if window == UsageWindow.DAY:
        days = backfill_days if backfill_days is not None else settings.USAGE_BACKFILL_DAYS
        earliest = floor_day(now - timedelta(days=days))
        overlap = timedelta(days=1)
    else:
        days = min(backfill_days, hour_days) if backfill_days is not None else hour_days
        earliest = floor_hour(now - timedelta(days=days))
        overlap = timedelta(hours=settings.USAGE_HOUR_OVERLAP_HOURS)
    if backfill_days is not None:
        return earliest
    newest = (
        UsageRecord.objects.filter(account=account, window=window)
        .order_by("-start")
        .values_list("start", flat=True)
        .first()
    )
    if newest is None:
        return earliest
    return max(newest - overlap, earliest)


def _fetch_usage(client: BillingClient, account: Account, backfill_days: int | None) -> None:
    now = timezone.now()
    for window in (UsageWindow.DAY, UsageWindow.HOUR):
        start = usage_window_start(account, window, now, backfill_days)
        answer = client.usage_history(
            account_id=account.cloudflare_id,
            value_grouping_window=window.value,
            start_time=datetime_to_ms(start),
            end_time=datetime_to_ms(now),
        )
        store_usage(account, window, answer.history, timezone.now())


def store_usage(account: Account, window: str, summaries: Iterable, synced_at: datetime) -> int:
    """Upserts usage summaries (as the client returns them); returns how many rows were written."""
    rows = {}
    for summary in summaries:
        start = ms_to_datetime(summary.start_time)
        key = (start, text(summary.id, 128))
        rows[key] = UsageRecord(
            account=account,
            window=window,
            start=start,
            end=ms_to_datetime(summary.end_time),
            summary_id=key[1],
            value=usage_to_dollars(summary.aggregated_value),
            synced_at=synced_at,
        )
    if not rows:
        return 0
    with transaction.atomic():
        UsageRecord.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["account", "window", "start", "summary_id"],
            update_fields=["end", "value", "synced_at"],
            batch_size=500,
        )
        # A bucket Cloudflare now reports under another id replaces the old row rather than adding to it.
        starts = [start for start, _ in rows]
        existing = UsageRecord.objects.filter(
            account=account, window=window, start__gte=min(starts), start__lte=max(starts)
        ).values_list("pk", "start", "summary_id")
        reported = {start for start, _ in rows}
        superseded = [pk for pk, start, sid in existing if start in reported and (start, sid) not in rows]
        if superseded:
            UsageRecord.objects.filter(pk__in=superseded).delete()
    return len(rows)
