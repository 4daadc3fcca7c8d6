"""The control API under /__sandbox__/: reset, shape accounts, move the clock, inject faults, read the log.

No token, no rate limit, not recorded in the request log. Answers are plain JSON (no envelope); errors are
`{"error": "..."}` with status 400 or 404.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from . import control_gateways
from .analytics import SUMS
from .api import topup_config_wire
from .faults import parse_fault
from .graphql_api import LIMIT_NAMES
from .interface import Reply, Sandbox
from .jsonutil import dumps, loads
from .model import DURATIONS, HOUR_MS, STRATEGIES, ZERO, Account, ms_to_seconds

PREFIX = "/__sandbox__"
ACCOUNT_ID_RE = re.compile(r"^[0-9a-f]{32}$")
ACCOUNT_FIELDS = (
    "name",
    "balance",
    "payment_method",
    "first_topup_success",
    "usage_per_hour",
    "usage_rhythm",
    "usage_delay_hours",
    "topup_config",
    "spending_limit",
)
CONFIG_FIELDS = (
    "topup_delay_seconds",
    "rate_limit",
    "accept_dashboard_writes",
    "speed",
    "fee_percent",
    "analytics_read",
    "invoice_paging",
    "graphql_rate_limit",
    "analytics_limits",
    "analytics_unknown_fields",
    "analytics_empty",
)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reply(status: int, doc: Any) -> Reply:
    return Reply(status, dumps(doc).encode())


def handle(sb: Sandbox, method: str, path: str, query: str, raw: bytes) -> Reply:
    """Answer one control request."""
    parts = [p for p in path[len(PREFIX) :].split("/") if p]
    try:
        try:
            data = loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise ControlError(400, "request body: not valid JSON") from None
        if parts[:1] == ["invoices"] and len(parts) == 2 and method == "GET":
            return _invoice_pdf(sb, parts[1])
        with sb.lock:
            sb.billing.advance_to(sb.clock.now_ms())
            status, doc = _route(sb, method, parts, data)
        return _reply(status, doc)
    except ControlError as exc:
        return _reply(exc.status, {"error": str(exc)})


def _route(sb: Sandbox, method: str, parts: list[str], data: Any) -> tuple[int, Any]:
    key = (method, parts[0] if parts else "", len(parts))
    if key == ("GET", "health", 1):
        return 200, {"ok": True, "accounts": len(sb.billing.accounts), "now_ms": sb.billing.now_ms}
    if key == ("POST", "reset", 1):
        seed_name = _obj(data).get("seed")
        try:
            sb.reset(seed_name)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        return 200, {"ok": True, "seed": seed_name or sb.seed_name, "accounts": list(sb.billing.accounts)}
    if key == ("GET", "accounts", 1):
        return 200, {"accounts": [_account_state(sb, a) for a in sb.billing.accounts.values()]}
    if parts[:1] == ["accounts"] and len(parts) == 2:
        return _account(sb, method, parts[1], data)
    if parts[:1] == ["accounts"] and len(parts) == 3 and parts[2] in ("gateways", "spend-limits"):
        try:
            status, doc = control_gateways.handle(sb.billing, method, parts[1], parts[2], data)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        except LookupError as exc:
            raise ControlError(404, str(exc)) from None
        sb.mark_dirty()
        return status, doc
    if method == "POST" and parts[:1] == ["accounts"] and parts[2:] == ["credit"]:
        return 200, _credit(sb, parts[1], _obj(data))
    if method == "GET" and parts[:1] == ["accounts"] and parts[2:] == ["balance-history"]:
        return 200, _balance_history(sb, parts[1])
    if key == ("GET", "clock", 1):
        return 200, _clock_state(sb)
    if key == ("POST", "clock", 1):
        seconds = _number(_obj(data), "advance_seconds", required=True)
        if seconds < 0:
            raise ControlError(400, "advance_seconds: must not be negative")
        sb.clock.advance(seconds)  # a Decimal: to the exact millisecond
        sb.billing.advance_to(sb.clock.now_ms())
        sb.mark_dirty()
        return 200, _clock_state(sb)
    if key == ("GET", "faults", 1):
        return 200, {"faults": [f.describe() for f in sb.faults]}
    if key == ("POST", "faults", 1):
        try:
            fault = parse_fault(data)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        sb.faults.append(fault)
        return 201, fault.describe()
    if key == ("DELETE", "faults", 1):
        sb.faults.clear()
        return 200, {"ok": True}
    if key == ("GET", "requests", 1):
        return 200, {"requests": list(sb.request_log)}
    if key == ("DELETE", "requests", 1):
        sb.request_log.clear()
        return 200, {"ok": True}
    if key == ("GET", "config", 1):
        return 200, sb.settings()
    if key == ("POST", "config", 1):
        _configure(sb, _obj(data))
        return 200, sb.settings()
    raise ControlError(404, f"no control route {method} {PREFIX}/{'/'.join(parts)}")


def _obj(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ControlError(400, "request body: must be a JSON object")
    return data


def _number(data: dict[str, Any], name: str, required: bool = False) -> Decimal:
    value = data.get(name)
    if value is None and not required:
        return ZERO
    if isinstance(value, str):  # "12.34" lets callers keep exact decimals out of their JSON encoder
        try:
            value = Decimal(value)
        except ArithmeticError:
            raise ControlError(400, f"{name}: must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or not Decimal(value).is_finite():
        raise ControlError(400, f"{name}: must be a number")
    return Decimal(value)


def _clock_state(sb: Sandbox) -> dict[str, Any]:
    return {"now_ms": sb.billing.now_ms, "now": ms_to_seconds(sb.billing.now_ms), "speed": sb.speed}


def _configure(sb: Sandbox, data: dict[str, Any]) -> None:
    unknown = [k for k in data if k not in CONFIG_FIELDS]
    if unknown:
        raise ControlError(400, f"{unknown[0]}: unknown setting (allowed: {', '.join(CONFIG_FIELDS)})")
    for name in ("topup_delay_seconds", "speed", "fee_percent"):
        if name in data and _number(data, name, required=True) < 0:
            raise ControlError(400, f"{name}: must not be negative")
    for name in ("rate_limit", "graphql_rate_limit"):
        if name not in data:
            continue
        pair = data[name]
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in pair)
        ):
            raise ControlError(400, f"{name}: must be [requests, seconds], two positive integers")
        setattr(sb, name, (pair[0], pair[1]))
        sb.restart_rate_window()
    _configure_analytics(sb, data)
    for flag in ("accept_dashboard_writes", "analytics_read", "invoice_paging"):
        if flag in data and not isinstance(data[flag], bool):
            raise ControlError(400, f"{flag}: must be true or false")
    if "accept_dashboard_writes" in data:
        sb.accept_dashboard_writes = data["accept_dashboard_writes"]
    if "analytics_read" in data:
        sb.analytics_read = data["analytics_read"]
    if "invoice_paging" in data:
        sb.invoice_paging = data["invoice_paging"]
    if "topup_delay_seconds" in data:
        sb.topup_delay_seconds = float(data["topup_delay_seconds"])
    if "speed" in data:
        sb.speed = float(data["speed"])
    if "fee_percent" in data:
        sb.fee_percent = Decimal(data["fee_percent"])
    sb.apply_settings()


def _configure_analytics(sb: Sandbox, data: dict[str, Any]) -> None:
    """The dataset's limits (merged into those set before; null restores a default), the sums Cloudflare is
    made not to know, and whether analytics answer no rows."""
    if "analytics_limits" in data:
        limits = _obj(data["analytics_limits"])
        for name, value in limits.items():
            if name not in LIMIT_NAMES:
                raise ControlError(400, f"analytics_limits: {name} is not one of {', '.join(LIMIT_NAMES)}")
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ControlError(400, f"analytics_limits: {name} must be a positive integer or null")
        merged = {**sb.analytics_limits, **limits}
        sb.analytics_limits = {name: value for name, value in merged.items() if value is not None}
    if "analytics_unknown_fields" in data:
        names = data["analytics_unknown_fields"]
        if not isinstance(names, list) or not all(name in SUMS and name != "cost" for name in names):
            raise ControlError(
                400, f"analytics_unknown_fields: a list of sums other than cost ({', '.join(SUMS)})"
            )
        sb.analytics_unknown_fields = list(names)
    if "analytics_empty" in data:
        if not isinstance(data["analytics_empty"], bool):
            raise ControlError(400, "analytics_empty: must be true or false")
        sb.analytics_empty = data["analytics_empty"]


def _account(sb: Sandbox, method: str, account_id: str, data: Any) -> tuple[int, Any]:
    billing = sb.billing
    account = billing.accounts.get(account_id)
    if method == "GET":
        return 200, _account_state(sb, _find(sb, account_id))
    if method == "DELETE":
        del billing.accounts[_find(sb, account_id).id]
        sb.mark_dirty()
        return 200, {"ok": True}
    if method != "PUT":
        raise ControlError(404, f"no control route {method} {PREFIX}/accounts/<id>")
    if not ACCOUNT_ID_RE.match(account_id):
        raise ControlError(400, "account id: must be 32 lowercase hex characters, as Cloudflare's")
    changes = _account_changes(_obj(data))
    created = account is None
    if account is None:
        account = billing.create_account(account_id, changes.get("name"))
    for name, value in changes.items():
        if name == "spending_limit":
            billing.set_spending_limit(account, value)
        elif name == "topup_config":
            _apply_topup_config(account, value)
        elif name == "usage_delay_hours":
            account.usage_delay_hours, account.usage_delay_floor_hour = value, account.last_reported_hour()
        else:
            setattr(account, name, value)
    billing.advance_account(account, billing.now_ms)  # an auto top-up may be due right away
    sb.mark_dirty()
    return (201 if created else 200), _account_state(sb, account)


def _account_changes(data: dict[str, Any]) -> dict[str, Any]:
    unknown = [k for k in data if k not in ACCOUNT_FIELDS]
    if unknown:
        raise ControlError(400, f"{unknown[0]}: unknown field (allowed: {', '.join(ACCOUNT_FIELDS)})")
    out: dict[str, Any] = {}
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"]:
            raise ControlError(400, "name: must be a non-empty string")
        out["name"] = data["name"]
    if "balance" in data:
        out["balance"] = _number(data, "balance", required=True)
    if "usage_per_hour" in data:
        out["usage_per_hour"] = _number(data, "usage_per_hour", required=True)
        if out["usage_per_hour"] < 0:
            raise ControlError(400, "usage_per_hour: must not be negative")
    for flag in ("first_topup_success", "usage_rhythm"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise ControlError(400, f"{flag}: must be true or false")
            out[flag] = data[flag]
    if "payment_method" in data:
        pm = data["payment_method"]
        if pm is not None and not (
            isinstance(pm, dict)
            and set(pm) <= {"brand", "last4"}
            and isinstance(pm.get("brand"), str)
            and isinstance(pm.get("last4"), str)
            and re.fullmatch(r"\d{4}", pm["last4"])
        ):
            raise ControlError(400, 'payment_method: must be null or {"brand": "visa", "last4": "4242"}')
        out["payment_method"] = dict(pm) if pm else None
    if (delay := data.get("usage_delay_hours")) is not None:
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 24 * 30:
            raise ControlError(400, "usage_delay_hours: must be a whole number of hours from 0 to 720")
        out["usage_delay_hours"] = delay
    if "topup_config" in data:
        out["topup_config"] = _topup_config(data["topup_config"])
    if "spending_limit" in data:
        out["spending_limit"] = _spending_limit(data["spending_limit"])
    return out


def _int_field(d: dict[str, Any], name: str, label: str) -> int:
    value = d.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ControlError(400, f"{label}.{name}: must be a positive integer number of cents")
    return value


def _topup_config(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    allowed = {"amount", "threshold", "error", "disabledReason", "lastFailedAt"}
    if not isinstance(value, dict) or not set(value) <= allowed:
        raise ControlError(400, f"topup_config: must be null or an object with {', '.join(sorted(allowed))}")
    out: dict[str, Any] = {name: _int_field(value, name, "topup_config") for name in ("amount", "threshold")}
    for name in ("error", "disabledReason"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise ControlError(400, f"topup_config.{name}: must be a string or null")
        out[name] = value.get(name)
    failed = value.get("lastFailedAt")
    if failed is not None and (isinstance(failed, bool) or not isinstance(failed, int)):
        raise ControlError(400, "topup_config.lastFailedAt: must be Unix seconds or null")
    out["lastFailedAt"] = failed
    return out


def _apply_topup_config(account: Account, value: dict[str, Any] | None) -> None:
    if value is None:
        account.topup_config = None
        account.topup_error = account.topup_disabled_reason = account.topup_last_failed_at = None
        return
    account.topup_config = {"amount": value["amount"], "threshold": value["threshold"]}
    account.topup_error = value["error"]
    account.topup_disabled_reason = value["disabledReason"]
    account.topup_last_failed_at = value["lastFailedAt"]


def _spending_limit(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"amount", "duration", "strategy"}:
        raise ControlError(400, "spending_limit: must be null or {amount, duration, strategy}")
    if value["duration"] not in DURATIONS or value["strategy"] not in STRATEGIES:
        raise ControlError(400, f"spending_limit: duration one of {DURATIONS}, strategy one of {STRATEGIES}")
    return {
        "amount": _int_field(value, "amount", "spending_limit"),
        **{k: value[k] for k in ("duration", "strategy")},
    }


def _account_state(sb: Sandbox, a: Account) -> dict[str, Any]:
    hour = sb.billing.now_ms // HOUR_MS
    window_spend = a.window_spend(hour) * 100 if a.spending_limit else None
    return {
        "id": a.id,
        "name": a.name,
        "balance": a.balance,
        "payment_method": a.payment_method,
        "has_default_payment_method": a.payment_method is not None,
        "first_topup_success": a.first_topup_success,
        "usage_per_hour": a.usage_per_hour,
        "usage_rhythm": a.usage_rhythm,
        "topup_config": topup_config_wire(a) if a.topup_config else None,
        "spending_limit": a.spending_limit,
        "spending_limit_window_spend_cents": window_spend,
        "spending_limit_reached": a.limit_reached(hour),
        "topups": [
            {
                "payment_intent_id": t.payment_intent_id,
                "invoice_id": t.invoice_id,
                "amount": t.amount,
                "origin": t.origin,
                "status": t.status,
                "created": ms_to_seconds(t.created_ms),
                "completes_at": ms_to_seconds(t.complete_at_ms),
            }
            for t in a.topups.values()
        ],
        "invoices_count": len(a.invoices),
        "usage_start_ms": a.usage_start_hour * HOUR_MS,
        "usage_hours": len(a.usage),
        "usage_total": sum(a.usage, ZERO),
        "accrued_until_ms": a.accrued_until_ms,
        "now_ms": sb.billing.now_ms,
    }


def _find(sb: Sandbox, account_id: str) -> Account:
    account = sb.billing.accounts.get(account_id)
    if account is None:
        raise ControlError(404, f"no account {account_id}")
    return account


def _credit(sb: Sandbox, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Moves the balance by `amount` cents behind the portal's back: no top-up, no invoice."""
    account = _find(sb, account_id)
    amount = data.get("amount")
    if set(data) != {"amount"} or isinstance(amount, bool) or not isinstance(amount, int) or not amount:
        raise ControlError(400, "amount: required alone, a non-zero whole number of cents")
    account.balance += amount
    sb.billing.advance_account(account, sb.billing.now_ms)  # an auto top-up may be due right away
    sb.mark_dirty()
    return _account_state(sb, account)


def _balance_history(sb: Sandbox, account_id: str) -> dict[str, Any]:
    """The balance (cents) at every hour boundary the account has passed: a demo aid, not a Cloudflare API."""
    account = _find(sb, account_id)
    return {
        "start_ms": account.balance_start_hour * HOUR_MS,
        "step_ms": HOUR_MS,
        "balances": list(account.balance_history),
    }


def _invoice_pdf(sb: Sandbox, name: str) -> Reply:
    invoice_id = name.removesuffix(".pdf")
    with sb.lock:
        found = [(a, i) for a in sb.billing.accounts.values() for i in a.invoices if i.id == invoice_id]
    if not found:
        raise ControlError(404, f"no invoice {invoice_id}")
    account, invoice = found[0]
    text = f"{account.name} - invoice {invoice.id} - {invoice.description} - {invoice.status}"
    return Reply(200, _tiny_pdf(text), {"Content-Type": "application/pdf"})


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing one line of text (enough for a download link to open something real)."""
    safe = (
        text.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    )
    stream = b"BT /F1 12 Tf 50 750 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
