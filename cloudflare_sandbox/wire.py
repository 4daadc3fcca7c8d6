"""The envelope and request side of the sandbox's billing API: Cloudflare's error codes, `ApiError`, the
success and error envelopes, the request `Context` handlers are given, and the validation every handler shares
(a JSON body of exactly the allowed fields, cents, choices, millisecond timestamps, page numbers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .jsonutil import loads
from .model import Account, Billing

# Cloudflare's error codes where it has one; the 1xxx codes are the sandbox's own.
CODE_AUTH = 10000
CODE_NO_ROUTE = 7000
CODE_BAD_ACCOUNT = 7003
CODE_RATE_LIMITED = 971
CODE_METHOD = 10405
CODE_VALIDATION = 1001
CODE_NO_PAYMENT_METHOD = 1002
CODE_TOPUP_NOT_FOUND = 1003
CODE_NO_FIRST_TOPUP = 1004


class ApiError(Exception):
    """An answer with `success: false`."""

    def __init__(self, status: int, errors: list[tuple[int, str]], headers: dict[str, str] | None = None):
        super().__init__(errors[0][1])
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def envelope(result: Any, result_info: dict[str, Any] | None = None) -> dict[str, Any]:
    # Cloudflare's spec makes `result_info` an optional object: never null.
    info = {} if result_info is None else result_info
    return {"success": True, "errors": [], "messages": [], "result": result, "result_info": info}


def error_envelope(errors: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": code, "message": message} for code, message in errors],
        "messages": [],
        "result": None,
        "result_info": {},
    }


@dataclass
class Context:
    billing: Billing
    account: Account
    query: dict[str, str]
    raw_body: bytes
    root_url: str
    accept_dashboard_writes: (
        bool  # the demo's switch: let through what Cloudflare accepts from its dashboard only
    )
    analytics_read: bool = True  # may the token read GraphQL analytics (the control API's config says)
    # Whether invoice-history honours `page` / `per_page` (the control API's `invoice_paging` says).
    invoice_paging: bool = True

    @property
    def now_ms(self) -> int:
        return self.billing.now_ms


Result = tuple[int, Any, Any]  # status, result, result_info
Handler = Callable[[Context], Result]


# -- validation --------------------------------------------------------------------------


def bad(*messages: str) -> ApiError:
    return ApiError(400, [(CODE_VALIDATION, m) for m in messages])


def json_body(ctx: Context, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parse the body as a JSON object holding exactly the allowed fields, or raise a 400."""
    if not ctx.raw_body.strip():
        raise bad("request body: a JSON object is required")
    try:
        body = loads(ctx.raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"request body: not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise bad("request body: must be a JSON object")
    problems = [f"{name}: required" for name in required if name not in body]
    problems += [f"{name}: unknown field" for name in body if name not in required + optional]
    if problems:
        raise bad(*problems)
    return body


def cents_problem(body: dict[str, Any], name: str, minimum: int, maximum: int | None = None) -> str | None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name}: must be an integer number of cents"
    if value < minimum:
        return f"{name}: must be at least {minimum} cents"
    if maximum is not None and value > maximum:
        return f"{name}: must be at most {maximum} cents"
    return None


def choice_problem(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if body.get(name) not in choices:
        return f"{name}: must be one of {', '.join(choices)}"
    return None


def raise_if(*problems: str | None) -> None:
    found = [p for p in problems if p]
    if found:
        raise bad(*found)


def query_ms(ctx: Context, name: str) -> int | None:
    text = ctx.query.get(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise bad(f"{name}: must be a Unix timestamp in milliseconds")
    return int(value)


def page_number(ctx: Context, name: str, default: int, maximum: int) -> int:
    text = ctx.query.get(name) or str(default)
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise bad(f"{name}: must be an integer from 1 to {maximum}")
    return int(text)
