"""The billing API on the wire: routing, validation, result shapes and the Cloudflare envelope.

`handle()` is called with the state lock held and the world already advanced to now; it returns the HTTP
status and the JSON document to send. Nothing here knows about sockets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .jsonutil import Raw, decimal_text, loads
from .model import (
    AUTO_TOPUP_THRESHOLD_MIN_CENTS,
    DAY_MS,
    DURATIONS,
    HOUR_MS,
    SPENDING_LIMIT_MIN_CENTS,
    STRATEGIES,
    TOPUP_MAX_CENTS,
    TOPUP_MIN_CENTS,
    ZERO,
    Account,
    Billing,
    Invoice,
    month_start_hour,
    ms_to_seconds,
    next_month_start_hour,
)

API_PREFIX = "/client/v4"
ROUTE_RE = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai-gateway/billing/(?P<op>[a-z/-]+?)/?$")

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


def envelope(result: Any, result_info: Any = None) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": result, "result_info": result_info}


def error_envelope(errors: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": code, "message": message} for code, message in errors],
        "messages": [],
        "result": None,
        "result_info": None,
    }


@dataclass
class Context:
    billing: Billing
    account: Account
    query: dict[str, str]
    raw_body: bytes
    root_url: str
    restrict_like_production: bool
    analytics_read: bool = True  # may the token read GraphQL analytics (the control API's config says)

    @property
    def now_ms(self) -> int:
        return self.billing.now_ms


# Rendered directly: 90 days of hourly summaries are the sandbox's largest answer.
SUMMARY = '{{"id":"{prefix}{start}","aggregated_value":{value},"start_time":{start},"end_time":{end}}}'

Result = tuple[int, Any, Any]  # status, result, result_info
Handler = Callable[[Context], Result]


# -- validation helpers --------------------------------------------------------------------------


def _bad(*messages: str) -> ApiError:
    return ApiError(400, [(CODE_VALIDATION, m) for m in messages])


def json_body(ctx: Context, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parse the body as a JSON object holding exactly the allowed fields, or raise a 400."""
    if not ctx.raw_body.strip():
        raise _bad("request body: a JSON object is required")
    try:
        body = loads(ctx.raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"request body: not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise _bad("request body: must be a JSON object")
    problems = [f"{name}: required" for name in required if name not in body]
    problems += [f"{name}: unknown field" for name in body if name not in required + optional]
    if problems:
        raise _bad(*problems)
    return body


def _cents(body: dict[str, Any], name: str, minimum: int, maximum: int | None = None) -> str | None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name}: must be an integer number of cents"
    if value < minimum:
        return f"{name}: must be at least {minimum} cents"
    if maximum is not None and value > maximum:
        return f"{name}: must be at most {maximum} cents"
    return None


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if body.get(name) not in choices:
        return f"{name}: must be one of {', '.join(choices)}"
    return None


def _raise_if(*problems: str | None) -> None:
    found = [p for p in problems if p]
    if found:
        raise _bad(*found)


def _query_ms(ctx: Context, name: str) -> int | None:
    text = ctx.query.get(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise _bad(f"{name}: must be a Unix timestamp in milliseconds")
    return int(value)


def _forbidden_for_tokens(ctx: Context, why: str) -> None:
    if ctx.restrict_like_production:
        raise ApiError(403, [(CODE_AUTH, f"Authentication error: {why}")])


# -- wire shapes ---------------------------------------------------------------------------------


def topup_config_wire(a: Account) -> dict[str, Any]:
    config = a.topup_config or {}
    return {
        "amount": config.get("amount"),
        "threshold": config.get("threshold"),
        "error": a.topup_error,
        "disabledReason": a.topup_disabled_reason,
        "lastFailedAt": a.topup_last_failed_at,
    }


def invoice_wire(inv: Invoice, root_url: str) -> dict[str, Any]:
    return {
        "id": inv.id,
        "amount_due": inv.amount_due,
        "amount_paid": inv.amount_paid,
        "amount_remaining": inv.amount_due - inv.amount_paid,
        "currency": "usd",
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": inv.status != "paid",
        "created": ms_to_seconds(inv.created_ms),
        "created_by": inv.created_by,
        "description": inv.description,
        "invoice_origin": inv.origin,
        "invoice_pdf": f"{root_url}/__sandbox__/invoices/{inv.id}.pdf",
        "status": inv.status,
    }


# -- operations ----------------------------------------------------------------------------------


def credit_balance(ctx: Context) -> Result:
    a = ctx.account
    result = {
        "balance": a.balance,
        "has_default_payment_method": a.payment_method is not None,
        "payment_method": dict(a.payment_method) if a.payment_method else None,
        "topup_config": topup_config_wire(a),
        "first_topup_success": a.first_topup_success,
    }
    return 200, result, None


def usage_history(ctx: Context) -> Result:
    window = ctx.query.get("value_grouping_window")
    if window is None:
        raise _bad("value_grouping_window: required (day or hour)")
    if window not in ("day", "hour"):
        raise _bad("value_grouping_window: must be one of day, hour")
    start_ms, end_ms = _query_ms(ctx, "start_time"), _query_ms(ctx, "end_time")
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise _bad("start_time: must not be after end_time")
    a = ctx.account
    first = a.usage_start_hour
    last = first + len(a.usage) - 1
    if end_ms is not None:
        last = min(last, (end_ms - 1) // HOUR_MS)
    lo = first if start_ms is None else max(first, start_ms // HOUR_MS)
    items: list[Raw] = []
    prefix = f"ush_{a.id[:8]}_{window[0]}"
    if window == "hour":
        for hour in range(lo, last + 1):
            s = hour * HOUR_MS
            value = decimal_text(a.usage[hour - first])
            items.append(Raw(SUMMARY.format(prefix=prefix, start=s, value=value, end=s + HOUR_MS)))
    else:
        # A day is reported whole when any of it lies in the range, as Cloudflare's daily summaries are.
        for day in range(lo // 24, last // 24 + 1):
            s = day * DAY_MS
            h0, h1 = max(day * 24, first), min(day * 24 + 24, first + len(a.usage))
            value = decimal_text(sum(a.usage[h0 - first : h1 - first], ZERO))
            items.append(Raw(SUMMARY.format(prefix=prefix, start=s, value=value, end=s + DAY_MS)))
    return 200, {"history": items}, None


def invoice_history(ctx: Context) -> Result:
    kind = ctx.query.get("type", "all") or "all"
    if kind not in ("auto", "all", "manual"):
        raise _bad("type: must be one of auto, all, manual")
    invoices = [i for i in reversed(ctx.account.invoices) if kind == "all" or i.origin == kind]
    total = len(invoices)
    try:
        page = int(ctx.query.get("page", "1"))
        per_page = int(ctx.query.get("per_page", str(max(total, 1))))
    except ValueError:
        raise _bad("page: page and per_page must be positive integers") from None
    if page < 1 or per_page < 1:
        raise _bad("page: page and per_page must be positive integers")
    chunk = invoices[(page - 1) * per_page : page * per_page]
    pagination = {
        "has_more": page * per_page < total,
        "page": page,
        "per_page": per_page,
        "total_count": total,
    }
    result = {"invoices": [invoice_wire(i, ctx.root_url) for i in chunk], "pagination": pagination}
    return 200, result, dict(pagination)


def invoice_preview(ctx: Context) -> Result:
    a = ctx.account
    now_hour = ctx.now_ms // HOUR_MS
    p0, p1 = month_start_hour(now_hour), next_month_start_hour(now_hour)
    first = a.usage_start_hour
    dollars = sum(a.usage[max(0, p0 - first) : max(0, p1 - first)], ZERO)
    amount = int((dollars * 100).quantize(Decimal(1)))
    # Prepaid credits pay for usage; only what a negative balance leaves uncovered is due.
    uncovered = int(max(ZERO, -a.balance).quantize(Decimal(1)))
    credited = max(0, amount - uncovered)
    due = amount - credited
    period = {"start": p0 * 3600, "end": p1 * 3600}
    line = {
        "amount": amount,
        "currency": "usd",
        "description": "AI Gateway usage",
        "period": period,
        "pricing": {"unit_amount_decimal": "0.0001"},
        "quantity": int((dollars * 1_000_000).quantize(Decimal(1))),
        "pretax_credit_amounts": [
            {
                "amount": credited,
                "type": "credit_balance_transaction",
                "credit_balance_transaction": f"cbtxn_{a.id[:12]}{p0}",
                "discount": None,
            }
        ],
    }
    result = {
        "id": f"upcoming_in_{a.id[:12]}_{p0}",
        "amount_due": due,
        "amount_paid": 0,
        "amount_remaining": due,
        "currency": "usd",
        "invoice_lines": [line],
        "period_start": p0 * 3600,
        "period_end": p1 * 3600,
        "status": "draft",
    }
    return 200, result, None


def topup_create(ctx: Context) -> Result:
    body = json_body(ctx, ("amount",), ("payment_method_id",))
    pm = body.get("payment_method_id")
    _raise_if(
        _cents(body, "amount", TOPUP_MIN_CENTS, TOPUP_MAX_CENTS),
        "payment_method_id: must be a non-empty string"
        if "payment_method_id" in body and not (isinstance(pm, str) and pm)
        else None,
    )
    a = ctx.account
    if pm is None and a.payment_method is None:
        raise ApiError(
            400,
            [
                (
                    CODE_NO_PAYMENT_METHOD,
                    "No default payment method: add a card in the Cloudflare dashboard first",
                )
            ],
        )
    # Without a payment_method_id the account's own card pays (its presence was checked above).
    if pm is None and a.payment_method is not None:
        card = a.payment_method
    else:
        card = {"brand": "visa", "last4": "4242"}
    onboarded = a.first_topup_success
    topup = ctx.billing.create_topup(a, body["amount"], "manual", ctx.now_ms, created_by="api")
    result = {
        "client_secret": f"{topup.payment_intent_id}_secret_{topup.invoice_id[3:15]}",
        "onboarding": onboarded,
        "payment_intent_id": topup.payment_intent_id,
        "brand": card["brand"],
        "last4": card["last4"],
    }
    return 200, result, None


def topup_status(ctx: Context) -> Result:
    body = json_body(ctx, ("payment_intent_id",))
    ref = body["payment_intent_id"]
    _raise_if(None if isinstance(ref, str) and ref else "payment_intent_id: must be a non-empty string")
    topup = ctx.billing.find_topup(ctx.account, ref)
    if topup is None:
        raise ApiError(404, [(CODE_TOPUP_NOT_FOUND, f"payment_intent_id: no top-up {ref} on this account")])
    return 200, {"payment_intent_id": topup.payment_intent_id, "status": topup.status}, None


def topup_limits(ctx: Context) -> Result:
    return 200, {"min_cents": TOPUP_MIN_CENTS, "max_cents": TOPUP_MAX_CENTS, "currency": "USD"}, None


def topup_config_get(ctx: Context) -> Result:
    return 200, topup_config_wire(ctx.account), None


def topup_config_set(ctx: Context) -> Result:
    _forbidden_for_tokens(ctx, "auto top-up settings accept dashboard sessions only")
    body = json_body(ctx, ("amount", "threshold"))
    _raise_if(
        _cents(body, "amount", TOPUP_MIN_CENTS),
        _cents(body, "threshold", AUTO_TOPUP_THRESHOLD_MIN_CENTS),
    )
    ctx.billing.set_topup_config(ctx.account, body["amount"], body["threshold"])
    return 200, {"amount": body["amount"], "threshold": body["threshold"]}, None


def topup_config_delete(ctx: Context) -> Result:
    _forbidden_for_tokens(ctx, "auto top-up settings accept dashboard sessions only")
    ctx.billing.delete_topup_config(ctx.account)
    return 200, {}, None


def spending_limit_get(ctx: Context) -> Result:
    limit = ctx.account.spending_limit
    if not limit:
        return 200, {"config": {}, "enabled": False}, None
    return 200, {"config": dict(limit), "enabled": True}, None


def spending_limit_set(ctx: Context) -> Result:
    _forbidden_for_tokens(
        ctx, "account spending limits are deprecated and cannot be created; use AI Gateway spend limits"
    )
    body = json_body(ctx, ("amount", "duration", "strategy"))
    _raise_if(
        _cents(body, "amount", SPENDING_LIMIT_MIN_CENTS),
        _choice(body, "duration", DURATIONS),
        _choice(body, "strategy", STRATEGIES),
    )
    if not ctx.account.first_topup_success:
        raise ApiError(
            400, [(CODE_NO_FIRST_TOPUP, "A spending limit can be set only after the first successful top-up")]
        )
    limit = {"amount": body["amount"], "duration": body["duration"], "strategy": body["strategy"]}
    ctx.billing.set_spending_limit(ctx.account, limit)
    return 201, {}, None


def spending_limit_delete(ctx: Context) -> Result:
    ctx.billing.set_spending_limit(ctx.account, None)
    return 200, {}, None


ROUTES: dict[str, dict[str, Handler]] = {
    "credit-balance": {"GET": credit_balance},
    "usage-history": {"GET": usage_history},
    "invoice-history": {"GET": invoice_history},
    "invoice-preview": {"GET": invoice_preview},
    "topup": {"POST": topup_create},
    "topup/status": {"POST": topup_status},
    "topup/limits": {"GET": topup_limits},
    "topup/config": {"GET": topup_config_get, "POST": topup_config_set, "DELETE": topup_config_delete},
    "spending-limit": {
        "GET": spending_limit_get,
        "POST": spending_limit_set,
        "DELETE": spending_limit_delete,
    },
}


def resolve(method: str, path: str) -> tuple[str, Handler]:
    """Return (account id, handler) for a request, or raise the 404/405 Cloudflare would send."""
    match = ROUTE_RE.match(path)
    methods = ROUTES.get(match["op"]) if match else None
    if not match or methods is None:
        raise ApiError(404, [(CODE_NO_ROUTE, "No route for that URI")])
    handler = methods.get(method)
    if handler is None:
        raise ApiError(405, [(CODE_METHOD, f"Method {method} not allowed; use {', '.join(methods)}")])
    return match["account"], handler


def handle(billing: Billing, account_id: str, handler: Handler, ctx_args: dict[str, Any]) -> tuple[int, Any]:
    """Run one operation; return the HTTP status and the envelope to send."""
    account = billing.account(account_id)
    if account is None:
        raise ApiError(
            404,
            [
                (
                    CODE_BAD_ACCOUNT,
                    f"Could not route to /accounts/{account_id}, perhaps your object identifier is invalid?",
                )
            ],
        )
    status, result, info = handler(Context(billing=billing, account=account, **ctx_args))
    return status, envelope(result, info)
