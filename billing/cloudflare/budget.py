"""A request budget per Cloudflare API token, shared by every thread (and, with Redis, every process).

Cloudflare allows 1,200 requests per 5 minutes per token, and the dashboard spends from the same budget;
going over it earns every caller 429s for the next five minutes. Both limiters keep a sliding-window log of
the moments requests were made: a slot is granted while fewer than ``limit`` requests happened in the last
``period`` seconds.

``acquire(token_key)`` takes one slot or raises :class:`RateLimitBudgetExceeded` (a ``CloudflareError``
subclass, so a caller's ``except CloudflareError`` handles it with the rest; ``retryable`` is true and
``retry_after`` says how long until a slot frees). ``token_key`` is a fingerprint of the token
(``billing.cloudflare.token_key``), never the token itself.

Imports nothing from Django; ``redis`` is imported only when a Redis URL is given.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from typing import Protocol

from billing.cloudflare.errors import RateLimitBudgetExceeded

__all__ = [
    "InProcessRateLimiter",
    "RateLimitBudgetExceeded",
    "RateLimiter",
    "RedisRateLimiter",
    "make_rate_limiter",
]

# The name the module had before it moved into the package, so log configuration keeps working.
logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 1200
DEFAULT_PERIOD = 300
# Cloudflare's GraphQL analytics quota, counted apart from the REST budget.
GRAPHQL_LIMIT = 300
GRAPHQL_PERIOD = 300


class RateLimiter(Protocol):
    """What the client asks of a request budget: wait for (or refuse) the next request of a token."""

    def acquire(self, token_key: str, *, block: bool = True, max_wait: float = 30.0) -> None: ...


def _budget_exceeded(limit: int, period: float, wait: float) -> RateLimitBudgetExceeded:
    return RateLimitBudgetExceeded(
        f"The API request budget of this token ({limit} requests per {period:g} s) is spent; "
        f"a request slot frees in {wait:.1f} s.",
        retry_after=wait,
    )


class InProcessRateLimiter:
    """Sliding-window budget held in this process's memory (threads share it, processes do not)."""

    def __init__(self, limit: int = DEFAULT_LIMIT, period: float = DEFAULT_PERIOD) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.limit = limit
        self.period = period
        self._lock = threading.Lock()
        self._log: dict[str, deque[float]] = {}

    def __repr__(self) -> str:
        return f"InProcessRateLimiter(limit={self.limit}, period={self.period:g})"

    def _try_take(self, token_key: str) -> float:
        """Take a slot and return 0, or return the seconds until the oldest slot in the window frees."""
        now = time.monotonic()
        with self._lock:
            log = self._log.setdefault(token_key, deque())
            while log and log[0] <= now - self.period:
                log.popleft()
            if len(log) < self.limit:
                log.append(now)
                return 0.0
            return max(log[0] + self.period - now, 0.001)

    def acquire(self, token_key: str, *, block: bool = True, max_wait: float = 30.0) -> None:
        """Take one request slot for ``token_key``; raises RateLimitBudgetExceeded if none frees in time."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = self._try_take(token_key)
            if not wait:
                return
            # Slots only free with time, so a wait beyond the deadline cannot succeed: say so at once.
            if not block or time.monotonic() + wait > deadline:
                raise _budget_exceeded(self.limit, self.period, wait)
            time.sleep(wait)


# One script so that pruning, counting and taking a slot are a single atomic step for every process.
# Redis's own clock is used so that hosts with skewed clocks still share one window.
_ACQUIRE_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window_us / 1000))
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window_us - now)
"""


class RedisRateLimiter:
    """Sliding-window budget in a Redis sorted set per token, shared by all processes using the same Redis.

    If Redis cannot be reached the limiter logs a warning and falls back to an in-process budget: Cloudflare
    still enforces its own limit, and stopping every API call because the budget store is down would be worse.
    """

    def __init__(
        self,
        redis_url: str,
        limit: int = DEFAULT_LIMIT,
        period: float = DEFAULT_PERIOD,
        key_prefix: str = "cfbudget",
    ) -> None:
        import redis  # imported here so that the in-process limiter works without the package

        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.limit = limit
        self.period = period
        self.key_prefix = key_prefix
        self._redis_error = redis.RedisError
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self._redis.register_script(_ACQUIRE_LUA)
        self._fallback = InProcessRateLimiter(limit, period)

    def __repr__(self) -> str:
        return f"RedisRateLimiter(limit={self.limit}, period={self.period:g}, key_prefix={self.key_prefix!r})"

    def key_for(self, token_key: str) -> str:
        return f"{self.key_prefix}:{token_key}"

    def _try_take(self, token_key: str) -> float:
        member = uuid.uuid4().hex
        wait_us = self._script(
            keys=[self.key_for(token_key)], args=[self.limit, int(self.period * 1_000_000), member]
        )
        return int(wait_us) / 1_000_000

    def acquire(self, token_key: str, *, block: bool = True, max_wait: float = 30.0) -> None:
        """Take one request slot for ``token_key``; raises RateLimitBudgetExceeded if none frees in time."""
        deadline = time.monotonic() + max_wait
        while True:
            try:
                wait = self._try_take(token_key)
            except self._redis_error as exc:
                logger.warning(
                    "Redis rate limiter unavailable (%s); using the in-process budget", type(exc).__name__
                )
                self._fallback.acquire(token_key, block=block, max_wait=max(deadline - time.monotonic(), 0.0))
                return
            if not wait:
                return
            if not block or time.monotonic() + wait > deadline:
                raise _budget_exceeded(self.limit, self.period, wait)
            time.sleep(wait)


def make_rate_limiter(
    redis_url: str | None,
    limit: int = DEFAULT_LIMIT,
    period: float = DEFAULT_PERIOD,
    key_prefix: str = "cfbudget",
) -> InProcessRateLimiter | RedisRateLimiter:
    """A Redis-backed limiter when ``redis_url`` is set (budget shared by all processes), else in-process.
    Two budgets of one token (REST, GraphQL) need two ``key_prefix`` values."""
    if redis_url:
        return RedisRateLimiter(redis_url, limit=limit, period=period, key_prefix=key_prefix)
    return InProcessRateLimiter(limit=limit, period=period)
