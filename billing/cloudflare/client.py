"""The transport under ``BillingClient``: one ``requests`` session per client, a timeout on every request,
retries with jittered backoff where repeating is safe, the request budget, and a report of every attempt.

A request that moves money, or is marked not idempotent, is never repeated once it may have reached
Cloudflare: when its answer is lost, :class:`OutcomeUnknownError` is raised instead. Imports nothing from
Django or the rest of the portal.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

import requests
import urllib3.exceptions

from billing.cloudflare.budget import RateLimiter
from billing.cloudflare.envelope import encode_json, read_result
from billing.cloudflare.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CloudflareError,
    InvalidResponseError,
    OutcomeUnknownError,
    RateLimitError,
)
from billing.cloudflare.operation import Operation, ResultT

__all__ = ["DEFAULT_BASE_URL", "RequestBudget", "Transport", "deadline_scope", "token_key"]

# The name the module had before it became a package, so log configuration and filters keep working.
logger = logging.getLogger("billing.cloudflare")

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
# The monotonic moment by which every call made in this context must have ended (see `deadline_scope`).
_scope_ends: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "cloudflare_deadline", default=None
)


@contextmanager
def deadline_scope(seconds: float) -> Iterator[None]:
    """Every call made inside the block is made for a caller that cannot wait (a web request): together they
    end within about `seconds`, each one attempt, with no sleeping through a Retry-After or for the request
    budget (those raise at once, nothing sent). A call started after the time is spent raises
    APITimeoutError (sent=False) without sending anything."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    token = _scope_ends.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _scope_ends.reset(token)


def _scoped_deadline(deadline: float | None) -> float | None:
    """The call's own deadline, shortened to what is left of the scope's; 0 when the scope's time is spent."""
    ends = _scope_ends.get()
    if ends is None:
        return deadline
    left = max(ends - time.monotonic(), 0.0)
    return left if deadline is None else min(deadline, left)


def token_key(api_token: str) -> str:
    """A short fingerprint of a token, safe to use as a cache or rate-limit key (never the token itself)."""
    return hashlib.sha256(api_token.encode()).hexdigest()[:16]


# What the client needs of a rate limiter: the protocol `budget` defines (it provides two).
RequestBudget = RateLimiter


class _Secret:
    """Holds the token so that no repr, traceback-locals dump or debugger view prints it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'<redacted>'"


def _certainly_not_sent(exc: BaseException) -> bool:
    """True when the failure happened before a connection existed (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
            return True
        if isinstance(item, BaseException):
            stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__, *item.args])
    return False


class Transport:
    """Sends one :class:`~billing.cloudflare.operation.Operation` and returns its parsed result.

    ``on_call(operation, account_id, status, attempt, elapsed_ms, error)`` is called after every HTTP
    attempt (status is None when no answer arrived). ``rate_limiter`` (see ``billing.cloudflare.budget``) is
    asked for a slot before every attempt; ``rate_limit_block`` / ``rate_limit_max_wait`` choose between
    waiting for one and raising ``RateLimitBudgetExceeded``. GraphQL queries are counted against
    ``graphql_rate_limiter`` instead: Cloudflare gives them a quota of their own (300 per 5 minutes), apart
    from the REST budget.
    """

    def __init__(
        self,
        api_token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = (5, 30),
        max_retries: int = 2,
        rate_limiter: RequestBudget | None = None,
        session: requests.Session | None = None,
        on_call: Callable[[str, str, int | None, int, float, Exception | None], None] | None = None,
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_cap: float = 60.0,
        rate_limit_block: bool = True,
        rate_limit_max_wait: float = 30.0,
        graphql_rate_limiter: RequestBudget | None = None,
    ) -> None:
        if not api_token:
            raise ValueError("an API token is required")
        self._token = _Secret(api_token)
        self.token_key = token_key(api_token)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.rate_limiter = rate_limiter
        self.session = session or requests.Session()
        self.on_call = on_call
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self.rate_limit_block = rate_limit_block
        self.rate_limit_max_wait = rate_limit_max_wait
        self.graphql_rate_limiter = graphql_rate_limiter

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_token='<redacted>')"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        op: Operation[ResultT],
        account_id: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        amount: int | None = None,
        path_params: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> ResultT:
        """Sends `op` (with retries where safe). With `deadline` (seconds) the call is made for a caller that
        cannot wait: one attempt only, at most `deadline` to answer (the connection at most as long as
        usual, and never longer than the deadline), and no waiting for the request budget."""
        if not isinstance(account_id, str) or not account_id.strip():
            raise ValueError("account_id must be a non-empty string")
        for name, value in (path_params or {}).items():
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        if deadline is not None and deadline <= 0:
            raise ValueError("deadline must be positive")
        deadline = _scoped_deadline(deadline)
        if deadline == 0:
            raise APITimeoutError(
                f"The time this page may wait on Cloudflare was spent before {op.name}; nothing was sent.",
                sent=False,
                operation=op.name,
                account_id=account_id,
            )
        url = f"{self.base_url}{op.url_path(account_id, path_params)}"
        data = encode_json(body) if body is not None else None
        timeout = self.timeout if deadline is None else _deadline_timeout(self.timeout, deadline)
        attempt = 0
        while True:
            attempt += 1
            limiter = self.graphql_rate_limiter if op.reads == "graphql" else self.rate_limiter
            if limiter is not None:
                limiter.acquire(
                    self.token_key,
                    block=self.rate_limit_block and deadline is None,
                    max_wait=self.rate_limit_max_wait,
                )
            try:
                return self._attempt(op, account_id, url, params, data, attempt, timeout)
            except CloudflareError as error:
                wait = None if deadline is not None else self._retry_wait(op, error, attempt)
                if wait is None:
                    if not op.repeatable and _outcome_unknown(error):
                        raise _unknown(op, account_id, amount, error) from error
                    raise
                logger.debug("cloudflare %s account=%s retrying in %.2f s", op.name, account_id, wait)
                time.sleep(wait)

    def _retry_wait(self, op: Operation[object], error: CloudflareError, attempt: int) -> float | None:
        """Seconds to sleep before the next attempt, or None when this error must be raised now."""
        if attempt > self.max_retries or not _may_retry(op, error):
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            # A long Cloudflare penalty is the caller's to schedule around, not ours to sleep through.
            return error.retry_after if error.retry_after <= self.retry_after_cap else None
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))

    def _attempt(
        self,
        op: Operation[ResultT],
        account_id: str,
        url: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        attempt: int,
        timeout: float | tuple[float, float],
    ) -> ResultT:
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        status: int | None = None
        ray_id: str | None = None
        error: CloudflareError | None = None
        started = time.monotonic()
        try:
            try:
                response = self.session.request(
                    op.method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise self._transport_error(op, account_id, exc) from exc
            status = response.status_code
            ray_id = response.headers.get("cf-ray")
            return read_result(op, account_id, response, self._redact)
        except CloudflareError as exc:
            error = exc
            raise
        finally:
            elapsed_ms = (time.monotonic() - started) * 1000
            logger.debug(
                "cloudflare %s account=%s status=%s attempt=%d ms=%.0f ray=%s%s",
                op.name,
                account_id,
                status,
                attempt,
                elapsed_ms,
                ray_id,
                f" error={type(error).__name__}" if error else "",
            )
            if self.on_call is not None:
                try:
                    self.on_call(op.name, account_id, status, attempt, elapsed_ms, error)
                except Exception:
                    # Metrics must never turn a completed (possibly money-moving) call into a failure.
                    logger.exception("on_call callback failed for %s", op.name)

    def _transport_error(
        self, op: Operation[object], account_id: str, exc: requests.RequestException
    ) -> CloudflareError:
        ctx = {"operation": op.name, "account_id": account_id}
        sent = not _certainly_not_sent(exc)
        if isinstance(exc, requests.Timeout):
            phase = "answering" if sent else "accepting the connection"
            return APITimeoutError(f"Cloudflare took too long {phase} ({op.name}).", sent=sent, **ctx)
        what = "the connection failed" if not sent else "the connection broke before the answer arrived"
        return APIConnectionError(
            f"Could not reach Cloudflare ({op.name}): {what} ({type(exc).__name__}).", sent=sent, **ctx
        )

    def _redact(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "<redacted>") if token in text else text


def _deadline_timeout(timeout: float | tuple[float, float], deadline: float) -> tuple[float, float]:
    """(connect, read) timeouts for a call that must end within about `deadline` seconds."""
    connect = timeout[0] if isinstance(timeout, tuple) else timeout
    return (min(connect, deadline), deadline)


def _may_retry(op: Operation[object], error: CloudflareError) -> bool:
    """Whether repeating the request after this error is both safe and possibly useful."""
    if isinstance(error, RateLimitError):
        return True  # a 429 was refused before any effect, even for a charge
    if not op.repeatable:
        # A charge or a replacement may only be repeated when Cloudflare certainly never saw it.
        return isinstance(error, APIConnectionError) and not error.sent
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and (
        error.status_code in _RETRYABLE_STATUSES or error.status_code >= 500
    )


def _outcome_unknown(error: CloudflareError) -> bool:
    """Whether a failed unrepeatable request may nevertheless have taken effect at Cloudflare."""
    if isinstance(error, APIConnectionError):
        return error.sent
    if isinstance(error, InvalidResponseError):
        return True  # a 2xx arrived, so the charge probably happened, but its details were lost
    if isinstance(error, APIStatusError):
        return error.status_code >= 500
    return False


def _unknown(
    op: Operation[object], account_id: str, amount: int | None, cause: CloudflareError
) -> OutcomeUnknownError:
    if op.moves_money:
        what = f"The top-up of {amount} cents" if amount is not None else f"The request {op.name}"
        check = "check the balance and recent top-ups"
    else:
        what, check = f"The change {op.name}", "read it back from Cloudflare"
    return OutcomeUnknownError(
        f"{what} may or may not have been made: the request may have reached Cloudflare but its answer did "
        f"not arrive ({cause.message}). It was not repeated; {check} before trying again.",
        operation=op.name,
        account_id=account_id,
        amount=amount,
        cause=cause,
    )
