"""Reading Cloudflare's answer: the JSON body, the ``{success, errors, result}`` envelope (GraphQL's
``{data, errors}`` is read by ``graphql``), and an HTTP error status turned into the typed error that fits it.
Also the JSON written in request bodies."""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

import requests

from billing.cloudflare.answer import Answer
from billing.cloudflare.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from billing.cloudflare.graphql import read_graphql
from billing.cloudflare.operation import Operation, ResultT
from billing.cloudflare.results.wire import as_int

__all__ = ["encode_json", "read_result"]

DASHBOARD_URL = "https://dash.cloudflare.com/"
_EDGE_PAGE_STATUSES = frozenset({502, 504, *range(520, 528)})


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


def _write_json(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent as JSON")
        out.append(str(value))  # exact digits: "12.34", "1E+2" are both JSON numbers
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(("," if i else "") + json.dumps(str(key)) + ":")
            _write_json(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _write_json(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, allow_nan=False))


def encode_json(value: Any) -> bytes:
    """A request body as JSON, every Decimal written with its exact digits (never through a float)."""
    out: list[str] = []
    _write_json(value, out)
    return "".join(out).encode()


def _decode_body(response: requests.Response) -> tuple[Any, str | None]:
    """The decoded JSON body (None if there is none) and, when it could not be decoded, why."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return None, f"content type {content_type or 'none'!r} instead of JSON"
    try:
        return _decode_json(response.content), None
    except ValueError:
        return None, "a body that is not valid JSON (truncated?)"


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


def read_result(
    op: Operation[ResultT], account_id: str, response: requests.Response, redact: Callable[[str], str]
) -> ResultT:
    """The operation's parsed result. Raises the APIStatusError subclass that fits a non-2xx status, and
    InvalidResponseError when a 2xx is not a readable, successful envelope."""
    answer = Answer(op, account_id, response.status_code, response.headers.get("cf-ray"), redact)
    payload, decode_problem = _decode_body(response)
    if not 200 <= answer.status < 300:
        raise _status_error(answer, payload, response.headers)
    if decode_problem:
        raise answer.invalid(f"Cloudflare answered with {decode_problem}", retryable=True)
    if op.reads == "graphql":
        return read_graphql(answer, payload)
    if not isinstance(payload, dict):
        raise answer.invalid("Cloudflare's answer is not the API envelope")
    if payload.get("success") is not True:
        details = "; ".join(f"{code}: {message}" for code, message in _envelope_errors(payload))
        raise answer.invalid(
            f"Cloudflare's answer does not report success{': ' + details if details else ''}"
        )
    if "result" not in payload:
        raise answer.invalid("Cloudflare's answer has no result", field="result")
    try:
        if op.reads == "envelope":
            return op.parse(payload, "")
        return op.parse(payload["result"], "result")
    except InvalidResponseError as exc:
        raise answer.invalid(exc.message, field=exc.field) from None


# ------------------------------------------------------------------------------------- error status -> error


@dataclass(frozen=True, slots=True)
class _Refusal:
    """An error status, with the pieces its message is built from."""

    answer: Answer[object]
    errors: tuple[tuple[int | None, str], ...]
    payload: Any
    headers: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.answer.op.name

    @property
    def ray(self) -> str:
        return self.answer.ray

    @property
    def suffix(self) -> str:
        detail = "; ".join(
            f"{message} (code {code})" if code is not None else message for code, message in self.errors
        )
        return f": {detail}" if detail else ""

    def context(self) -> dict[str, Any]:
        """The keyword arguments every APIStatusError takes."""
        return {
            "status_code": self.answer.status,
            "errors": self.errors,
            "ray_id": self.answer.ray_id,
            "operation": self.name,
            "account_id": self.answer.account_id,
        }


def _auth_message(r: _Refusal, dashboard_only: bool) -> str:
    permission = r.answer.op.permission
    if dashboard_only:
        return (
            f"Cloudflare refused {r.name} (HTTP 403{r.suffix}). Cloudflare accepts this change "
            "only from a signed-in dashboard session, not from API tokens: make it in the Cloudflare "
            f"dashboard ({DASHBOARD_URL}). If it should work with a token, check the token has "
            f"{permission!r}. [{r.ray}]"
        )
    if r.answer.status == 401:
        return (
            f"Cloudflare did not accept the API token for {r.name} (HTTP 401{r.suffix}): it may be "
            f"invalid, expired or revoked. A valid token needs {permission!r}. [{r.ray}]"
        )
    return (
        f"Cloudflare refused {r.name} (HTTP 403{r.suffix}): the API token likely lacks the "
        f"{permission!r} permission for this account. [{r.ray}]"
    )


def _authentication_error(r: _Refusal) -> APIStatusError:
    dashboard_only = r.answer.status == 403 and r.answer.op.dashboard_only
    return AuthenticationError(
        _auth_message(r, dashboard_only),
        permission=r.answer.op.permission,
        dashboard_only=dashboard_only,
        **r.context(),
    )


def _not_found(r: _Refusal) -> APIStatusError:
    return NotFoundError(
        f"Cloudflare does not know this account or resource ({r.name}, HTTP 404{r.suffix}). [{r.ray}]",
        **r.context(),
    )


def _bad_request(r: _Refusal) -> APIStatusError:
    return BadRequestError(
        f"Cloudflare rejected the request ({r.name}, HTTP {r.answer.status}{r.suffix}). [{r.ray}]",
        **r.context(),
    )


def _rate_limited(r: _Refusal) -> APIStatusError:
    wait = _retry_after(r.headers)
    hint = f"; retry after {wait:.0f} s" if wait is not None else ""
    # GraphQL has a quota of its own, apart from the REST budget: say which one is spent.
    what = (
        "Cloudflare's GraphQL analytics quota for this token is spent"
        if r.answer.op.reads == "graphql"
        else "Cloudflare's rate limit for this token is reached"
    )
    return RateLimitError(
        f"{what} ({r.name}, HTTP 429{hint}{r.suffix}). [{r.ray}]",
        retry_after=wait,
        **r.context(),
    )


def _server_error(r: _Refusal) -> APIStatusError:
    status = r.answer.status
    # Edge error pages are HTML meant for browsers: report the status and ray id, never the page.
    if r.payload is None or (status in _EDGE_PAGE_STATUSES and not r.errors):
        message = f"Cloudflare is unavailable (HTTP {status}, {r.ray}) during {r.name}."
    else:
        message = f"Cloudflare failed with a server error ({r.name}, HTTP {status}{r.suffix}). [{r.ray}]"
    return ServerError(message, **r.context())


def _other_status(r: _Refusal) -> APIStatusError:
    return APIStatusError(
        f"Cloudflare answered HTTP {r.answer.status} to {r.name}{r.suffix}. [{r.ray}]", **r.context()
    )


_ERROR_FOR_STATUS: dict[int, Callable[[_Refusal], APIStatusError]] = {
    400: _bad_request,
    401: _authentication_error,
    403: _authentication_error,
    404: _not_found,
    422: _bad_request,
    429: _rate_limited,
}


def _status_error(answer: Answer[object], payload: Any, headers: Mapping[str, str]) -> APIStatusError:
    """The typed error for a non-2xx answer, the envelope's messages redacted of the token."""
    errors = tuple((code, answer.redact(message)) for code, message in _envelope_errors(payload))
    refusal = _Refusal(answer, errors, payload, headers)
    build = _ERROR_FOR_STATUS.get(answer.status) or (_server_error if answer.status >= 500 else _other_status)
    return build(refusal)
