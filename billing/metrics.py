"""Prometheus metrics at /metrics, and the counting of API calls behind them.

Every HTTP attempt the client makes is counted twice: for the `SyncRun` in progress on this thread (its
`api_calls`), and per operation and result in a process-local tally that `flush_api_call_counts()` adds to
the `ApiCallCount` table. Sync work flushes at the end of each unit, and /metrics flushes its own process
before reading, so the calls of every worker and web process end up in one place without a database write per
call. Counts not yet flushed when a process dies are lost, which a counter tolerates (rates are unaffected).

The endpoint reads local tables only (a fixed number of queries) and needs `Authorization: Bearer
<METRICS_TOKEN>`; without METRICS_TOKEN set it is closed.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from billing.models import Account, ApiCallCount, BalanceSnapshot, SyncOutcome, SyncRun, TopUp, TopUpStatus

logger = logging.getLogger(__name__)

OK = "ok"
# Jobs whose freshness is exported per account.
EXPORTED_JOBS = ("balance", "spending_limit", "usage", "invoices")

_pending: Counter[tuple[str, str]] = Counter()
_pending_lock = threading.Lock()
_run_calls: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("run_calls", default=None)


# --- counting --------------------------------------------------------------------------------------------
def record_api_call(
    operation: str,
    account_id: str,
    status: int | None,
    attempt: int,
    elapsed_ms: float,
    error: Exception | None,
) -> None:
    """The client's `on_call` callback: counts one HTTP attempt. Never touches the database."""
    result = OK if error is None else type(error).__name__
    with _pending_lock:
        _pending[(operation, result)] += 1
    box = _run_calls.get()
    if box is not None:
        box[0] += 1


@contextmanager
def counting_calls() -> Iterator[list[int]]:
    """Counts the API calls made on this thread inside the block: `box[0]` when it ends."""
    box = [0]
    token = _run_calls.set(box)
    try:
        yield box
    finally:
        _run_calls.reset(token)


def pending_api_call_counts() -> dict[tuple[str, str], int]:
    with _pending_lock:
        return dict(_pending)


def flush_api_call_counts() -> None:
    """Adds this process's tally to ApiCallCount; on a database error keeps it for the next flush."""
    with _pending_lock:
        batch = dict(_pending)
        _pending.clear()
    try:
        for (operation, result), count in batch.items():
            _add(operation, result, count)
            batch[(operation, result)] = 0
    except DatabaseError:
        logger.warning("could not store API call counts; keeping them for the next flush", exc_info=True)
        with _pending_lock:
            _pending.update({key: n for key, n in batch.items() if n})


def _add(operation: str, result: str, count: int) -> None:
    counters = ApiCallCount.objects.filter(operation=operation, result=result)
    if counters.update(count=F("count") + count):
        return
    try:
        with transaction.atomic():
            ApiCallCount.objects.create(operation=operation, result=result, count=count)
    except IntegrityError:
        # Another process created the row between our update and create.
        counters.update(count=F("count") + count)


# --- exposition ------------------------------------------------------------------------------------------
class PortalCollector:
    """Reads the local tables into metric families (one query per family group, whatever the accounts)."""

    def collect(self):
        now = timezone.now()
        latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at")
        annotations = {
            "latest_balance": Subquery(latest.values("balance")[:1]),
            "latest_taken_at": Subquery(latest.values("taken_at")[:1]),
        }
        for job in EXPORTED_JOBS:
            last_success = SyncRun.objects.filter(
                account=OuterRef("pk"), job=job, outcome=SyncOutcome.SUCCEEDED
            ).order_by("-started_at")
            annotations[f"last_{job}"] = Subquery(last_success.values("finished_at")[:1])
        accounts = list(Account.objects.filter(is_active=True).annotate(**annotations).order_by("pk"))

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
            if account.latest_balance is not None:
                balance.add_metric(labels, float(account.latest_balance))
                snapshot_age.add_metric(labels, (now - account.latest_taken_at).total_seconds())
            for job in EXPORTED_JOBS:
                finished = getattr(account, f"last_{job}")
                seconds = (now - finished).total_seconds() if finished else math.inf
                since_sync.add_metric([*labels, job], seconds)
        yield balance
        yield snapshot_age
        yield since_sync

        yield GaugeMetricFamily("aigateway_billing_accounts", "Active accounts.", value=len(accounts))

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
        yield topups


def render_metrics() -> bytes:
    """The Prometheus text exposition of the portal's metrics."""
    flush_api_call_counts()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return generate_latest(registry)


def _authorized(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(supplied.strip().encode(), expected.encode())


@login_not_required
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics with `Authorization: Bearer <METRICS_TOKEN>`; 401 otherwise, 403 when no token is set."""
    if not settings.METRICS_TOKEN:
        return HttpResponse(
            "Metrics are disabled: set METRICS_TOKEN.\n", status=403, content_type="text/plain"
        )
    if not _authorized(request):
        response = HttpResponse("A valid bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
