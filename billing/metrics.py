"""Prometheus metrics of the portal, read from local tables only (a fixed number of queries).

The endpoint itself is `billing.views.metrics`; API calls are counted by `billing.clients`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from billing.clients import OK, flush_api_call_counts
from billing.models import (
    Account,
    ApiCallCount,
    BalanceSnapshot,
    SyncJob,
    SyncOutcome,
    SyncRun,
    TopUp,
    TopUpStatus,
)


class _Latest(TypedDict):
    latest_balance: Decimal | None
    latest_taken_at: datetime | None


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # An active account with its latest balance (and, read by name, the last success of each exported job).
    AccountFreshness = WithAnnotations[Account, _Latest]

# Jobs whose freshness is exported per account.
EXPORTED_JOBS = (SyncJob.BALANCE, SyncJob.SPENDING_LIMIT, SyncJob.USAGE, SyncJob.INVOICES)


class PortalCollector:
    """Reads the local tables into metric families (one query per family group, whatever the accounts)."""

    def collect(self):
        accounts = _accounts_with_freshness()
        yield from _account_families(accounts, timezone.now())
        yield GaugeMetricFamily("aigateway_billing_accounts", "Active accounts.", value=len(accounts))
        yield from _api_call_families()
        yield _topup_family()


def _accounts_with_freshness() -> list[AccountFreshness]:
    """Active accounts, each annotated with its latest balance and the last success of every exported job."""
    latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at")
    last_successes = {}
    for job in EXPORTED_JOBS:
        last_success = SyncRun.objects.filter(
            account=OuterRef("pk"), job=job, outcome=SyncOutcome.SUCCEEDED
        ).order_by("-started_at")
        last_successes[f"last_{job}"] = Subquery(last_success.values("finished_at")[:1])
    accounts = (
        Account.objects.filter(is_active=True)
        .annotate(**last_successes)
        .annotate(
            latest_balance=Subquery(latest.values("balance")[:1]),
            latest_taken_at=Subquery(latest.values("taken_at")[:1]),
        )
    )
    return list(accounts.order_by("pk"))


def _account_families(accounts: list[AccountFreshness], now: datetime) -> Iterator[GaugeMetricFamily]:
    balance = GaugeMetricFamily(
        "aigateway_billing_balance_dollars",
        "Credit balance of the account at its latest successful snapshot, in US dollars.",
        labels=["account_id", "account"],
    )
    snapshot_age = GaugeMetricFamily(
        "aigateway_billing_balance_age_seconds",
        "Seconds since the latest balance snapshot of the account.",
        labels=["account_id", "account"],
    )
    since_sync = GaugeMetricFamily(
        "aigateway_billing_seconds_since_last_successful_sync",
        "Seconds since the last successful run of a sync job for the account (+Inf: never).",
        labels=["account_id", "account", "job"],
    )
    for account in accounts:
        labels = [account.cloudflare_id, account.name]
        if account.latest_balance is not None and account.latest_taken_at is not None:  # (one snapshot's)
            balance.add_metric(labels, float(account.latest_balance))
            snapshot_age.add_metric(labels, (now - account.latest_taken_at).total_seconds())
        for job in EXPORTED_JOBS:
            finished = getattr(account, f"last_{job}")
            seconds = (now - finished).total_seconds() if finished else math.inf
            since_sync.add_metric([*labels, job], seconds)
    yield balance
    yield snapshot_age
    yield since_sync


def _api_call_families():
    calls = CounterMetricFamily(
        "aigateway_billing_api_calls",
        "HTTP requests made to Cloudflare, by operation.",
        labels=["operation"],
    )
    errors = CounterMetricFamily(
        "aigateway_billing_api_errors",
        "Cloudflare requests that failed, by operation and error class.",
        labels=["operation", "error"],
    )
    totals: Counter[str] = Counter()
    for row in ApiCallCount.objects.order_by("operation", "result"):
        totals[row.operation] += row.count
        if row.result != OK:
            errors.add_metric([row.operation, row.result], row.count)
    for operation, count in sorted(totals.items()):
        calls.add_metric([operation], count)
    yield calls
    yield errors


def _topup_family() -> GaugeMetricFamily:
    topups = GaugeMetricFamily(
        "aigateway_billing_topups", "Top-ups by status that still need attention.", labels=["status"]
    )
    counts = Counter(
        TopUp.objects.filter(
            status__in=[TopUpStatus.REQUESTED, TopUpStatus.PENDING, TopUpStatus.UNKNOWN]
        ).values_list("status", flat=True)
    )
    for status in (TopUpStatus.REQUESTED, TopUpStatus.PENDING, TopUpStatus.UNKNOWN):
        topups.add_metric([status.value], counts.get(status.value, 0))
    return topups


def render_metrics() -> bytes:
    """The Prometheus text exposition of the portal's metrics."""
    flush_api_call_counts()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return generate_latest(registry)
