"""The billing API on the wire: routing, validation, result shapes and the Cloudflare envelope.

`handle()` is called with the state lock held and the world already advanced to now; it returns the HTTP
status and the JSON document to send. Nothing here knows about sockets.
"""

from __future__ import annotations

import re
from typing import Any

from .invoice_lines import invoice_lines
from .jsonutil import Raw, decimal_text
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
    new_id,
    next_month_start_hour,
)
from .wire import (
    CODE_AUTH,
    CODE_BAD_ACCOUNT,
    CODE_METHOD,
    CODE_NO_FIRST_TOPUP,
    CODE_NO_PAYMENT_METHOD,
    CODE_NO_ROUTE,
    CODE_TOPUP_NOT_FOUND,
    ApiError,
    Context,
    Handler,
    Result,
    bad,
    cents_problem,
    choice_problem,
    envelope,
    json_body,
    page_number,
    query_ms,
    raise_if,
)

API_PREFIX = "/client/v4"
ROUTE_RE = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai-gateway/billing/(?P<op>[a-z/-]+?)/?$")

# invoice-history pages like Cloudflare's other lists: 20 a page unless `per_page` (1-100) says otherwise.
INVOICES_PER_PAGE = 20
INVOICES_MAX_PER_PAGE = 100


# Rendered directly: 90 days of hourly summaries are the sandbox's largest answer.
SUMMARY = '{{"id":"{prefix}{start}","aggregated_value":{value},"start_time":{start},"end_time":{end}}}'


def _dashboard_only(ctx: Context, why: str) -> None:
    """Cloudflare answers these writes 403 for API tokens (the only credential the sandbox knows): the
    envelope of its spec's 403 example, code 10000, with the SDK's reason after "Authentication error"."""
    if not ctx.accept_dashboard_writes:
        raise ApiError(403, [(CODE_AUTH, f"Authentication error: {why}")])


DASHBOARD_SESSIONS_ONLY = "Dashboard sessions only: API token, OAuth, and service credentials are rejected"
SPENDING_LIMIT_DEPRECATED = (
    "Deprecated: spending limits can no longer be created, enabled, or modified. "
    "Use AI Gateway spend limits instead"
)


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
        raise bad("value_grouping_window: required (day or hour)")
    if window not in ("day", "hour"):
        raise bad("value_grouping_window: must be one of day, hour")
    start_ms, end_ms = query_ms(ctx, "start_time"), query_ms(ctx, "end_time")
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise bad("start_time: must not be after end_time")
    a = ctx.account
    first = a.usage_start_hour
    last = min(first + len(a.usage) - 1, a.last_reported_hour())
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
            h0, h1 = max(day * 24, first), min(day * 24 + 24, last + 1)
            value = decimal_text(sum(a.usage[h0 - first : h1 - first], ZERO))
            items.append(Raw(SUMMARY.format(prefix=prefix, start=s, value=value, end=s + DAY_MS)))
    return 200, {"history": items}, None


def invoice_history(ctx: Context) -> Result:
    kind = ctx.query.get("type", "all") or "all"
    if kind not in ("auto", "all", "manual"):
        raise bad("type: must be one of auto, all, manual")
    invoices = [i for i in reversed(ctx.account.invoices) if kind == "all" or i.origin == kind]
    total = len(invoices)
    page = page_number(ctx, "page", 1, 1_000_000)
    per_page = page_number(ctx, "per_page", INVOICES_PER_PAGE, INVOICES_MAX_PER_PAGE)
    if not ctx.invoice_paging:
        # As a Cloudflare that ignores the paging parameters would: the first page, whatever was asked.
        page, per_page = 1, INVOICES_PER_PAGE
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
    lines = invoice_lines(a, p0, p1, dollars)
    amount = sum(line["amount"] for line in lines)
    credited = sum(line["pretax_credit_amounts"][0]["amount"] for line in lines)
    due = amount - credited
    result = {
        "id": f"upcoming_in_{a.id[:12]}_{p0}",
        "amount_due": due,
        "amount_paid": 0,
        "amount_remaining": due,
        "currency": "usd",
        "invoice_lines": lines,
        "period_start": p0 * 3600,
        "period_end": p1 * 3600,
        "status": "draft",
    }
    return 200, result, None


def topup_create(ctx: Context) -> Result:
    body = json_body(ctx, ("amount",), ("payment_method_id",))
    pm = body.get("payment_method_id")
    raise_if(
        cents_problem(body, "amount", TOPUP_MIN_CENTS, TOPUP_MAX_CENTS),
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
        # Stripe's client secret belongs to the payment intent that pays the invoice.
        "client_secret": f"{new_id('pi')}_secret_{topup.invoice_id[3:15]}",
        "onboarding": onboarded,
        "payment_intent_id": topup.payment_intent_id,
        "brand": card["brand"],
        "last4": card["last4"],
    }
    return 200, result, None


def topup_status(ctx: Context) -> Result:
    body = json_body(ctx, ("payment_intent_id",))
    ref = body["payment_intent_id"]
    raise_if(None if isinstance(ref, str) and ref else "payment_intent_id: must be a non-empty string")
    topup = ctx.billing.find_topup(ctx.account, ref)
    if topup is None:
        raise ApiError(404, [(CODE_TOPUP_NOT_FOUND, f"payment_intent_id: no top-up {ref} on this account")])
    return 200, {"payment_intent_id": topup.payment_intent_id, "status": topup.status}, None


def topup_limits(ctx: Context) -> Result:
    return 200, {"min_cents": TOPUP_MIN_CENTS, "max_cents": TOPUP_MAX_CENTS, "currency": "USD"}, None


def topup_config_get(ctx: Context) -> Result:
    return 200, topup_config_wire(ctx.account), None


def topup_config_set(ctx: Context) -> Result:
    _dashboard_only(ctx, DASHBOARD_SESSIONS_ONLY)
    body = json_body(ctx, ("amount", "threshold"))
    raise_if(
        cents_problem(body, "amount", TOPUP_MIN_CENTS),
        cents_problem(body, "threshold", AUTO_TOPUP_THRESHOLD_MIN_CENTS),
    )
    ctx.billing.set_topup_config(ctx.account, body["amount"], body["threshold"])
    return 200, {"amount": body["amount"], "threshold": body["threshold"]}, None


def topup_config_delete(ctx: Context) -> Result:
    _dashboard_only(ctx, DASHBOARD_SESSIONS_ONLY)
    ctx.billing.delete_topup_config(ctx.account)
    return 200, {}, None


def spending_limit_get(ctx: Context) -> Result:
    limit = ctx.account.spending_limit
    if not limit:
        return 200, {"config": {}, "enabled": False}, None
    return 200, {"config": dict(limit), "enabled": True}, None


def spending_limit_set(ctx: Context) -> Result:
    _dashboard_only(ctx, SPENDING_LIMIT_DEPRECATED)
    body = json_body(ctx, ("amount", "duration", "strategy"))
    raise_if(
        cents_problem(body, "amount", SPENDING_LIMIT_MIN_CENTS),
        choice_problem(body, "duration", DURATIONS),
        choice_problem(body, "strategy", STRATEGIES),
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
