"""The one HTTP seam between the portal and Cloudflare's AI Gateway billing API.

``BillingClient`` mirrors the official SDK's ``client.ai_gateway.billing`` (cloudflare 5.9.0): the same
method names, keyword arguments and result attribute names, returned as frozen dataclasses (lists become
tuples). It is a faithful mirror of the wire and converts no units: every JSON number the SDK types as
``float`` is a ``Decimal`` exactly as sent (balance in whatever unit Cloudflare sends, timestamps as sent);
counts and the integer top-up limits are ``int``. Unit decisions live in ``billing/money.py``.

Errors form one hierarchy under :class:`CloudflareError`; every instance has ``retryable`` (can trying again
later help?) and a human ``message``. A top-up POST is never repeated once it may have reached Cloudflare:
when its answer is lost, :class:`OutcomeUnknownError` is raised instead.

Imports nothing from Django or the rest of the portal.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn, Protocol
from urllib.parse import quote

import requests
import urllib3.exceptions

from billing.cloudflare.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CloudflareError,
    InvalidResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
)
from billing.cloudflare.results import (
    CreditBalance,
    InvoiceHistory,
    InvoicePreview,
    SpendingLimit,
    TopupConfig,
    TopupConfigSet,
    TopupCreateResult,
    TopupLimits,
    TopupStatus,
    UsageHistory,
)
from billing.cloudflare.results.wire import as_int, nothing

__all__ = ["BillingClient", "RequestBudget", "token_key"]

logger = logging.getLogger("billing.cloudflare")

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DASHBOARD_URL = "https://dash.cloudflare.com/"
READ_PERMISSION = "AI Gateway Read"
WRITE_PERMISSION = "AI Gateway Write"


def token_key(api_token: str) -> str:
    """A short fingerprint of a token, safe to use as a cache or rate-limit key (never the token itself)."""
    return hashlib.sha256(api_token.encode()).hexdigest()[:16]


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"non-standard JSON constant {name}")


def _decode_json(body: bytes) -> Any:
    """Parse JSON, every non-integer number as an exact Decimal; ValueError on anything that is not JSON."""
    try:
        text = body.decode("utf-8-sig")
        return json.loads(text, parse_float=Decimal, parse_int=int, parse_constant=_reject_constant)
    except (RecursionError, ArithmeticError) as exc:
        # Deep nesting, or an exponent beyond what Decimal can hold.
        raise ValueError("JSON that cannot be read") from exc


# ----------------------------------------------------------------------------------------------- transport


@dataclass(frozen=True, slots=True)
class _Operation:
    name: str
    method: str
    path: str
    parse: Callable[[Any, str], Any]
    moves_money: bool = False
    # Cloudflare documents these as refused to API tokens (dashboard sessions only): a 403 says so plainly.
    dashboard_only: bool = False

    @property
    def permission(self) -> str:
        return READ_PERMISSION if self.method == "GET" else WRITE_PERMISSION


_OPERATIONS = {
    op.name: op
    for op in (
        _Operation("credit_balance", "GET", "/credit-balance", CreditBalance.from_wire),
        _Operation("usage_history", "GET", "/usage-history", UsageHistory.from_wire),
        _Operation("invoice_history", "GET", "/invoice-history", InvoiceHistory.from_wire),
        _Operation("invoice_preview", "GET", "/invoice-preview", InvoicePreview.from_wire),
        _Operation("topup.create", "POST", "/topup", TopupCreateResult.from_wire, moves_money=True),
        _Operation("topup.limits", "GET", "/topup/limits", TopupLimits.from_wire),
        _Operation("topup.status", "POST", "/topup/status", TopupStatus.from_wire),
        _Operation("topup.config.get", "GET", "/topup/config", TopupConfig.from_wire),
        _Operation(
            "topup.config.create", "POST", "/topup/config", TopupConfigSet.from_wire, dashboard_only=True
        ),
        _Operation("topup.config.delete", "DELETE", "/topup/config", nothing, dashboard_only=True),
        _Operation("spending_limit.get", "GET", "/spending-limit", SpendingLimit.from_wire),
        _Operation("spending_limit.create", "POST", "/spending-limit", nothing, dashboard_only=True),
        _Operation("spending_limit.delete", "DELETE", "/spending-limit", nothing),
    )
}

_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_EDGE_PAGE_STATUSES = frozenset({502, 504, *range(520, 528)})


class RequestBudget(Protocol):
    """What the client needs of a rate limiter (``billing.ratelimit`` provides two)."""

    def acquire(self, token_key: str, *, block: bool = True, max_wait: float = 30.0) -> None: ...


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


def _finite(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if sent."""
    value = headers.get("retry-after-ms")
    if value:
        seconds = _finite(value)
        if seconds is not None:
            return max(seconds / 1000, 0.0)
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _envelope_errors(payload: Any) -> tuple[tuple[int | None, str], ...]:
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return ()
    pairs = []
    for item in payload["errors"]:
        if isinstance(item, dict):
            message = item.get("message")
            pairs.append((as_int(item.get("code")), message[:500] if isinstance(message, str) else ""))
        elif isinstance(item, str):
            pairs.append((None, item[:500]))
    return tuple(pairs)


class BillingClient:
    """Client for ``/accounts/{account_id}/ai-gateway/billing``, shaped like the SDK's ``ai_gateway.billing``.

    ``on_call(operation, account_id, status, attempt, elapsed_ms, error)`` is called after every HTTP
    attempt (status is None when no answer arrived). ``rate_limiter`` (see ``billing.ratelimit``) is asked for
    a slot before every attempt; ``rate_limit_block`` / ``rate_limit_max_wait`` choose between waiting for one
    and raising ``RateLimitBudgetExceeded``.
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
        self.topup = _Topup(self)
        self.spending_limit = _SpendingLimitResource(self)

    def __repr__(self) -> str:
        return f"BillingClient(base_url={self.base_url!r}, api_token='<redacted>')"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BillingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the SDK's methods ---------------------------------------------------------------------------------

    def credit_balance(self, *, account_id: str) -> CreditBalance:
        """The balance, payment method and auto top-up state. Raises CloudflareError."""
        return self._call("credit_balance", account_id)

    def usage_history(
        self,
        *,
        account_id: str,
        value_grouping_window: str,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> UsageHistory:
        """Usage buckets per "day" or "hour"; ``start_time`` / ``end_time`` in Unix milliseconds."""
        if value_grouping_window not in ("day", "hour"):
            raise ValueError('value_grouping_window must be "day" or "hour"')
        params = {"value_grouping_window": value_grouping_window}
        for name, value in (("start_time", start_time), ("end_time", end_time)):
            if value is not None:
                params[name] = str(_require_int(name, value))
        return self._call("usage_history", account_id, params=params)

    def invoice_history(self, *, account_id: str, type: str | None = None) -> InvoiceHistory:
        """Invoices, optionally filtered by ``type`` "auto" | "all" | "manual"."""
        if type is not None and type not in ("auto", "all", "manual"):
            raise ValueError('type must be "auto", "all" or "manual"')
        return self._call("invoice_history", account_id, params={"type": type} if type else None)

    def invoice_preview(self, *, account_id: str) -> InvoicePreview:
        """The upcoming invoice."""
        return self._call("invoice_preview", account_id)

    # -- the retry loop ------------------------------------------------------------------------------------

    def _call(
        self,
        name: str,
        account_id: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        amount: int | None = None,
    ) -> Any:
        op = _OPERATIONS[name]
        if not isinstance(account_id, str) or not account_id.strip():
            raise ValueError("account_id must be a non-empty string")
        url = f"{self.base_url}/accounts/{quote(account_id, safe='')}/ai-gateway/billing{op.path}"
        attempt = 0
        while True:
            attempt += 1
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(
                    self.token_key, block=self.rate_limit_block, max_wait=self.rate_limit_max_wait
                )
            try:
                return self._attempt(op, account_id, url, params, body, attempt)
            except CloudflareError as error:
                wait = self._retry_wait(op, error, attempt)
                if wait is None:
                    if op.moves_money and _outcome_unknown(error):
                        raise _unknown(op, account_id, amount, error) from error
                    raise
                logger.debug("cloudflare %s account=%s retrying in %.2f s", name, account_id, wait)
                time.sleep(wait)

    def _retry_wait(self, op: _Operation, error: CloudflareError, attempt: int) -> float | None:
        """Seconds to sleep before the next attempt, or None when this error must be raised now."""
        if attempt > self.max_retries or not _may_retry(op, error):
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            # A long Cloudflare penalty is the caller's to schedule around, not ours to sleep through.
            return error.retry_after if error.retry_after <= self.retry_after_cap else None
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))

    def _attempt(
        self,
        op: _Operation,
        account_id: str,
        url: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        attempt: int,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "Accept": "application/json"}
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
                    json=body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise self._transport_error(op, account_id, exc) from exc
            status = response.status_code
            ray_id = response.headers.get("cf-ray")
            return self._result(op, account_id, response)
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
        self, op: _Operation, account_id: str, exc: requests.RequestException
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

    def _result(self, op: _Operation, account_id: str, response: requests.Response) -> Any:
        status = response.status_code
        ray_id = response.headers.get("cf-ray")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        is_json = content_type == "application/json" or content_type.endswith("+json")
        payload: Any = None
        decode_problem: str | None = None
        if is_json:
            try:
                payload = _decode_json(response.content)
            except ValueError:
                decode_problem = "a body that is not valid JSON (truncated?)"
        else:
            decode_problem = f"content type {content_type or 'none'!r} instead of JSON"

        if not 200 <= status < 300:
            raise self._status_error(op, account_id, status, ray_id, payload, response.headers)

        def invalid(
            message: str, *, field: str | None = None, retryable: bool = False
        ) -> InvalidResponseError:
            error = InvalidResponseError(
                self._redact(f"{message} ({op.name}, HTTP {status}, ray {ray_id or 'unknown'})"),
                field=field,
                retryable=retryable,
                operation=op.name,
                account_id=account_id,
            )
            error.status_code, error.ray_id = status, ray_id
            return error

        if decode_problem:
            raise invalid(f"Cloudflare answered with {decode_problem}", retryable=True)
        if not isinstance(payload, dict):
            raise invalid("Cloudflare's answer is not the API envelope")
        if payload.get("success") is not True:
            details = "; ".join(f"{code}: {message}" for code, message in _envelope_errors(payload))
            raise invalid(f"Cloudflare's answer does not report success{': ' + details if details else ''}")
        if "result" not in payload:
            raise invalid("Cloudflare's answer has no result", field="result")
        try:
            return op.parse(payload["result"], "result")
        except InvalidResponseError as exc:
            raise invalid(exc.message, field=exc.field) from None

    def _status_error(
        self,
        op: _Operation,
        account_id: str,
        status: int,
        ray_id: str | None,
        payload: Any,
        headers: Mapping[str, str],
    ) -> APIStatusError:
        errors = tuple((code, self._redact(message)) for code, message in _envelope_errors(payload))
        detail = "; ".join(
            f"{message} (code {code})" if code is not None else message for code, message in errors
        )
        ray = f"ray {ray_id}" if ray_id else "no ray id"
        ctx = {
            "status_code": status,
            "errors": errors,
            "ray_id": ray_id,
            "operation": op.name,
            "account_id": account_id,
        }
        suffix = f": {detail}" if detail else ""

        if status in (401, 403):
            dashboard_only = status == 403 and op.dashboard_only
            if dashboard_only:
                message = (
                    f"Cloudflare refused {op.name} (HTTP 403{suffix}). Cloudflare accepts this change "
                    "only from a signed-in dashboard session, not from API tokens: make it in the Cloudflare "
                    f"dashboard ({DASHBOARD_URL}). If it should work with a token, check the token has "
                    f"{op.permission!r}. [{ray}]"
                )
            elif status == 401:
                message = (
                    f"Cloudflare did not accept the API token for {op.name} (HTTP 401{suffix}): it may be "
                    f"invalid, expired or revoked. A valid token needs {op.permission!r}. [{ray}]"
                )
            else:
                message = (
                    f"Cloudflare refused {op.name} (HTTP 403{suffix}): the API token likely lacks the "
                    f"{op.permission!r} permission for this account. [{ray}]"
                )
            return AuthenticationError(
                message, permission=op.permission, dashboard_only=dashboard_only, **ctx
            )
        if status == 404:
            return NotFoundError(
                f"Cloudflare does not know this account or resource ({op.name}, HTTP 404{suffix}). [{ray}]",
                **ctx,
            )
        if status in (400, 422):
            return BadRequestError(
                f"Cloudflare rejected the request ({op.name}, HTTP {status}{suffix}). [{ray}]", **ctx
            )
        if status == 429:
            wait = _retry_after(headers)
            hint = f"; retry after {wait:.0f} s" if wait is not None else ""
            return RateLimitError(
                f"Cloudflare's rate limit for this token is reached ({op.name}, HTTP 429{hint}). [{ray}]",
                retry_after=wait,
                **ctx,
            )
        if status >= 500:
            # Edge error pages are HTML meant for browsers: report the status and ray id, never the page.
            if payload is None or (status in _EDGE_PAGE_STATUSES and not errors):
                message = f"Cloudflare is unavailable (HTTP {status}, {ray}) during {op.name}."
            else:
                message = f"Cloudflare failed with a server error ({op.name}, HTTP {status}{suffix}). [{ray}]"
            return ServerError(message, **ctx)
        return APIStatusError(f"Cloudflare answered HTTP {status} to {op.name}{suffix}. [{ray}]", **ctx)

    def _redact(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "<redacted>") if token in text else text


def _require_int(name: str, value: Any) -> int:
    # Amounts are integer cents; a float or Decimal here is most likely dollars passed by mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (cents / milliseconds), not {type(value).__name__}")
    return value


def _may_retry(op: _Operation, error: CloudflareError) -> bool:
    """Whether repeating the request after this error is both safe and possibly useful."""
    if isinstance(error, RateLimitError):
        return True  # a 429 was refused before any effect, even for a charge
    if op.moves_money:
        # A charge may only be repeated when Cloudflare certainly never saw it.
        return isinstance(error, APIConnectionError) and not error.sent
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and (
        error.status_code in _RETRYABLE_STATUSES or error.status_code >= 500
    )


def _outcome_unknown(error: CloudflareError) -> bool:
    """Whether a failed money-moving request may nevertheless have taken effect at Cloudflare."""
    if isinstance(error, APIConnectionError):
        return error.sent
    if isinstance(error, InvalidResponseError):
        return True  # a 2xx arrived, so the charge probably happened, but its details were lost
    if isinstance(error, APIStatusError):
        return error.status_code >= 500
    return False


def _unknown(
    op: _Operation, account_id: str, amount: int | None, cause: CloudflareError
) -> OutcomeUnknownError:
    what = f"The top-up of {amount} cents" if amount is not None else f"The request {op.name}"
    return OutcomeUnknownError(
        f"{what} may or may not have been made: the request may have reached Cloudflare but its answer did "
        f"not arrive ({cause.message}). It was not repeated; check the balance and recent top-ups before "
        "trying again.",
        operation=op.name,
        account_id=account_id,
        amount=amount,
        cause=cause,
    )


class _TopupConfigResource:
    def __init__(self, client: BillingClient) -> None:
        self._client = client

    def get(self, *, account_id: str) -> TopupConfig:
        """The auto top-up configuration."""
        return self._client._call("topup.config.get", account_id)

    def create(self, *, account_id: str, amount: int, threshold: int) -> TopupConfigSet:
        """Set auto top-up: charge ``amount`` cents when the balance falls below ``threshold`` cents."""
        body = {"amount": _require_int("amount", amount), "threshold": _require_int("threshold", threshold)}
        return self._client._call("topup.config.create", account_id, body=body)

    def delete(self, *, account_id: str) -> None:
        """Turn auto top-up off."""
        return self._client._call("topup.config.delete", account_id)


class _Topup:
    def __init__(self, client: BillingClient) -> None:
        self._client = client
        self.config = _TopupConfigResource(client)

    def create(
        self, *, account_id: str, amount: int, payment_method_id: str | None = None
    ) -> TopupCreateResult:
        """Buy ``amount`` cents of credits. Never retried once it may have been sent: raises
        OutcomeUnknownError when the answer is lost (read timeout, broken connection, 5xx, unreadable 2xx)."""
        body: dict[str, Any] = {"amount": _require_int("amount", amount)}
        if payment_method_id is not None:
            body["payment_method_id"] = payment_method_id
        return self._client._call("topup.create", account_id, body=body, amount=amount)

    def limits(self, *, account_id: str) -> TopupLimits:
        """The smallest and largest top-up allowed, in cents (published spec only; not in the SDK)."""
        return self._client._call("topup.limits", account_id)

    def status(self, *, account_id: str, payment_intent_id: str) -> TopupStatus:
        """Whether a top-up is "pending" or "completed"."""
        return self._client._call("topup.status", account_id, body={"payment_intent_id": payment_intent_id})


class _SpendingLimitResource:
    def __init__(self, client: BillingClient) -> None:
        self._client = client

    def get(self, *, account_id: str) -> SpendingLimit:
        """The account-level spending limit."""
        return self._client._call("spending_limit.get", account_id)

    def create(self, *, account_id: str, amount: int, duration: str, strategy: str) -> None:
        """Set a spending limit of ``amount`` cents per ``duration`` ("daily" | "weekly" | "monthly")."""
        if duration not in ("daily", "weekly", "monthly"):
            raise ValueError('duration must be "daily", "weekly" or "monthly"')
        if strategy not in ("fixed", "sliding"):
            raise ValueError('strategy must be "fixed" or "sliding"')
        body = {"amount": _require_int("amount", amount), "duration": duration, "strategy": strategy}
        return self._client._call("spending_limit.create", account_id, body=body)

    def delete(self, *, account_id: str) -> None:
        """Remove the spending limit."""
        return self._client._call("spending_limit.delete", account_id)
