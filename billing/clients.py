"""Django-side glue for the API client: one client per token and base URL, sharing its request budgets (the
REST one and GraphQL's own quota), and the counting of its calls.

Only `billing/sync/` and `billing/operations/` call this; views never do.

Every HTTP attempt a client makes is counted twice: for the `SyncRun` in progress on this thread (its
`api_calls`), and per operation and result in a process-local tally that `flush_api_call_counts()` adds to
the `ApiCallCount` table. Sync work flushes at the end of each unit, and /metrics flushes its own process
before reading, so the calls of every worker and web process end up in one place without a database write per
call. Counts not yet flushed when a process dies are lost, which a counter tolerates (rates are unaffected).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from billing.cloudflare import BillingClient
from billing.cloudflare.budget import make_rate_limiter
from billing.models import Account, ApiCallCount

logger = logging.getLogger(__name__)

OK = "ok"

_lock = threading.Lock()
_clients: dict[tuple, BillingClient] = {}
_limiters: dict[tuple, object] = {}

_pending: Counter[tuple[str, str]] = Counter()
_pending_lock = threading.Lock()
_run_calls: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("run_calls", default=None)


# ------------------------------------------------------------------------------------------------- clients
def _limiter(limit: int, period: int, key_prefix: str):
    key = (settings.REDIS_URL, limit, period, key_prefix)
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = make_rate_limiter(settings.REDIS_URL or None, limit, period, key_prefix=key_prefix)
        _limiters[key] = limiter
    return limiter


def _rest_budget():
    """Cloudflare's REST budget of a token (1,200 requests per 5 minutes by default)."""
    return _limiter(settings.CLOUDFLARE_RATE_LIMIT, settings.CLOUDFLARE_RATE_PERIOD, "cfbudget")


def _graphql_budget():
    """Cloudflare's GraphQL quota of a token (300 queries per 5 minutes by default), counted apart."""
    return _limiter(
        settings.CLOUDFLARE_GRAPHQL_RATE_LIMIT, settings.CLOUDFLARE_GRAPHQL_RATE_PERIOD, "cfbudget-graphql"
    )


def client_for_token(token: str) -> BillingClient:
    """A client for this token, reused across calls (keep-alive), configured from settings."""
    fingerprint = hashlib.sha256(token.encode()).hexdigest()
    key = (
        fingerprint,
        settings.CLOUDFLARE_API_BASE_URL,
        settings.CLOUDFLARE_CONNECT_TIMEOUT,
        settings.CLOUDFLARE_READ_TIMEOUT,
        settings.CLOUDFLARE_MAX_RETRIES,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = BillingClient(
                token,
                base_url=settings.CLOUDFLARE_API_BASE_URL,
                timeout=(settings.CLOUDFLARE_CONNECT_TIMEOUT, settings.CLOUDFLARE_READ_TIMEOUT),
                max_retries=settings.CLOUDFLARE_MAX_RETRIES,
                rate_limiter=_rest_budget(),
                graphql_rate_limiter=_graphql_budget(),
                # Counts every HTTP attempt for /metrics and for the SyncRun that made it.
                on_call=record_api_call,
            )
            _clients[key] = client
    return client


def client_for(account: Account) -> BillingClient:
    """The client for one account: its own token, else CLOUDFLARE_API_TOKEN."""
    return client_for_token(account.api_token())


def reset_clients() -> None:
    """Forget cached clients and limiters (tests that change settings call this)."""
    with _lock:
        _clients.clear()
        _limiters.clear()


# ------------------------------------------------------------------------------------------- call counting
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
