"""Counting the client's API calls, for the sync run in progress and for /metrics.

Every HTTP attempt the client makes is counted twice: for the `SyncRun` in progress on this thread (its
`api_calls`), and per operation and result in a process-local tally that `flush_api_call_counts()` adds to
the `ApiCallCount` table. Sync work flushes at the end of each unit, and /metrics flushes its own process
before reading, so the calls of every worker and web process end up in one place without a database write per
call. Counts not yet flushed when a process dies are lost, which a counter tolerates (rates are unaffected).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from billing.models import ApiCallCount

logger = logging.getLogger(__name__)

OK = "ok"

_pending: Counter[tuple[str, str]] = Counter()
_pending_lock = threading.Lock()
_run_calls: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("run_calls", default=None)


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
