"""The request budget per token: in-process for threads, Redis for processes."""

import logging
import multiprocessing
import threading
import time
import uuid

import pytest
import redis

from billing.cloudflare import CloudflareError, budget, token_key
from billing.cloudflare.budget import (
    InProcessRateLimiter,
    RateLimitBudgetExceeded,
    RedisRateLimiter,
    make_rate_limiter,
)
from tests.support.clock import MachineClock

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def key_prefix():
    prefix = f"cfbudget-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    conn = redis.Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(f"{prefix}:*"):
        conn.delete(key)
    conn.close()


def _race(limiter, workers: int, key: str = "k") -> int:
    """Start ``workers`` threads at once, each asking for one slot without waiting; count the winners."""
    barrier = threading.Barrier(workers)
    granted = []

    def worker():
        barrier.wait()
        try:
            limiter.acquire(key, block=False)
            granted.append(1)
        except RateLimitBudgetExceeded:
            pass

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(granted)


def test_budget_exceeded_is_a_retryable_cloudflare_error():
    limiter = InProcessRateLimiter(limit=2, period=60)
    limiter.acquire("k")
    limiter.acquire("k")
    with pytest.raises(RateLimitBudgetExceeded) as info:
        limiter.acquire("k", block=False)
    assert isinstance(info.value, CloudflareError)
    assert info.value.retryable is True
    assert 59 < info.value.retry_after <= 60
    assert "2 requests per 60 s" in info.value.message


def test_in_process_limiter_holds_budget_under_concurrent_threads():
    limiter = InProcessRateLimiter(limit=7, period=60)
    assert _race(limiter, 40) == 7


def test_in_process_limiter_keeps_separate_budgets_per_token():
    limiter = InProcessRateLimiter(limit=1, period=60)
    limiter.acquire("token-a")
    limiter.acquire("token-b")
    with pytest.raises(RateLimitBudgetExceeded):
        limiter.acquire("token-a", block=False)


@pytest.fixture
def machine_clock(monkeypatch) -> MachineClock:
    """The monotonic clock the in-process limiter measures and waits with, moved by its own waits only."""
    fake = MachineClock()
    monkeypatch.setattr(budget, "time", fake)
    return fake


def test_blocking_acquire_waits_for_the_window_to_slide(machine_clock):
    limiter = InProcessRateLimiter(limit=2, period=0.3)
    started = machine_clock.monotonic()
    for _ in range(4):
        limiter.acquire("k", max_wait=2)
    elapsed = machine_clock.monotonic() - started
    assert 0.25 < elapsed < 1.5


def test_blocking_acquire_raises_at_once_when_the_wait_exceeds_max_wait(machine_clock):
    limiter = InProcessRateLimiter(limit=1, period=30)
    limiter.acquire("k")
    started = machine_clock.monotonic()
    with pytest.raises(RateLimitBudgetExceeded):
        limiter.acquire("k", block=True, max_wait=0.5)
    # Waiting first would take the whole half second; raising at once takes far less.
    assert machine_clock.monotonic() - started < 0.45


def test_redis_limiter_holds_budget_under_concurrent_threads(key_prefix):
    limiter = RedisRateLimiter(REDIS_URL, limit=9, period=60, key_prefix=key_prefix)
    assert _race(limiter, 40) == 9


def test_redis_limiter_budget_is_shared_by_separate_limiter_instances(key_prefix):
    first = RedisRateLimiter(REDIS_URL, limit=3, period=60, key_prefix=key_prefix)
    second = RedisRateLimiter(REDIS_URL, limit=3, period=60, key_prefix=key_prefix)
    first.acquire("k")
    second.acquire("k")
    first.acquire("k")
    with pytest.raises(RateLimitBudgetExceeded):
        second.acquire("k", block=False)


def _take_slots(prefix: str, attempts: int, start: "multiprocessing.synchronize.Event", out) -> None:
    limiter = RedisRateLimiter(REDIS_URL, limit=13, period=60, key_prefix=prefix)
    start.wait()
    won = 0
    for _ in range(attempts):
        try:
            limiter.acquire("shared", block=False)
            won += 1
        except RateLimitBudgetExceeded:
            pass
    out.put(won)


@pytest.mark.process
def test_redis_limiter_holds_budget_across_processes(key_prefix):
    ctx = multiprocessing.get_context("spawn")  # fork could copy a lock held by another thread
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_take_slots, args=(key_prefix, 10, start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    # Generous bounds: each spawned process imports Django first, slow on a loaded 2-core machine; they only
    # stop a stuck run, the assertion is on the count.
    total = sum(out.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert total == 13


def test_redis_limiter_blocks_until_a_slot_frees(key_prefix):
    limiter = RedisRateLimiter(REDIS_URL, limit=1, period=0.3, key_prefix=key_prefix)
    limiter.acquire("k")
    started = time.monotonic()
    limiter.acquire("k", max_wait=2)
    assert 0.2 < time.monotonic() - started < 1.5


def test_redis_key_holds_a_fingerprint_never_the_token(key_prefix):
    token = "secret-token-value-1234567890"
    limiter = RedisRateLimiter(REDIS_URL, limit=5, period=60, key_prefix=key_prefix)
    limiter.acquire(token_key(token))
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{key_prefix}:*")]
    assert keys == [f"{key_prefix}:{token_key(token)}"]
    assert token not in keys[0]
    assert len(token_key(token)) == 16


def test_redis_limiter_falls_back_to_in_process_budget_when_redis_is_down(caplog):
    limiter = RedisRateLimiter("redis://127.0.0.1:1/15", limit=2, period=60)
    with caplog.at_level(logging.WARNING, logger="billing.cloudflare.budget"):
        limiter.acquire("k")
        limiter.acquire("k")
        with pytest.raises(RateLimitBudgetExceeded):
            limiter.acquire("k", block=False)
    assert "in-process budget" in caplog.text


def test_make_rate_limiter_chooses_redis_only_with_a_url():
    assert isinstance(make_rate_limiter(None, 10, 60), InProcessRateLimiter)
    assert isinstance(make_rate_limiter("", 10, 60), InProcessRateLimiter)
    shared = make_rate_limiter(REDIS_URL, 10, 60)
    assert isinstance(shared, RedisRateLimiter)
    assert (shared.limit, shared.period) == (10, 60)
