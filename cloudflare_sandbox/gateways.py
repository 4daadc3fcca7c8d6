"""The AI Gateway REST routes: list, get and replace an account's gateways, with Cloudflare's validation.

Handlers take the billing API's `Context` and answer in the same envelope, so auth, the unknown-account 404,
faults, rate limits and the request log are shared with the billing routes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .traffic import Gateway, Traffic
from .wire import CODE_VALIDATION, ApiError, Context, Result, json_body

CODE_GATEWAY_NOT_FOUND = 1005
REQUIRED = (
    "cache_invalidate_on_update",
    "cache_ttl",
    "collect_logs",
    "rate_limiting_interval",
    "rate_limiting_limit",
)
NULLABLE_INT = (int, None)
ENUMS = {
    "log_management_strategy": ("STOP_INSERTING", "DELETE_OLDEST", None),
    "rate_limiting_technique": ("fixed", "sliding", None),
    "retry_backoff": ("constant", "linear", "exponential", None),
    "workers_ai_billing_mode": ("postpaid", "unified"),
}
# Field -> accepted JSON types (None: null); ranges and shapes are checked after.
TYPES: dict[str, tuple[Any, ...]] = {
    "cache_invalidate_on_update": (bool,),
    "cache_ttl": NULLABLE_INT,
    "collect_logs": (bool,),
    "rate_limiting_interval": NULLABLE_INT,
    "rate_limiting_limit": NULLABLE_INT,
    "authentication": (bool,),
    "byok_only": (bool,),
    "dlp": (dict,),
    "guardrails": (dict, None),
    "log_classification": (bool,),
    "log_management": NULLABLE_INT,
    "logpush": (bool,),
    "logpush_public_key": (str, None),
    "otel": (list, None),
    "retry_delay": NULLABLE_INT,
    "retry_max_attempts": NULLABLE_INT,
    "spend_limits": (dict, None),
    "store_id": (str, None),
    "stripe": (dict, None),
    "zdr": (bool,),
}
OPTIONAL = tuple(k for k in (*TYPES, *ENUMS) if k not in REQUIRED)
RANGES = {"retry_delay": (0, 60_000), "retry_max_attempts": (1, 5)}
# Cloudflare's documented maximum of spend-limit rules on one gateway.
MAX_RULES = 20
RULE_FIELDS = ("limit", "limitType", "window", "technique", "id", "enabled", "model", "provider", "metadata")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def gateway_wire(g: Gateway) -> dict[str, Any]:
    return {
        "id": g.id,
        **g.config,
        "created_at": iso(g.created_ms),
        "modified_at": iso(g.modified_ms),
        "is_default": g.is_default,
    }


def _bad(problems: list[str]) -> ApiError:
    return ApiError(400, [(CODE_VALIDATION, p) for p in problems])


def _type_ok(value: Any, accepted: tuple[Any, ...]) -> bool:
    if value is None:
        return None in accepted
    if isinstance(value, bool):
        return bool in accepted
    return any(t is not None and isinstance(value, t) for t in accepted)


def _type_name(accepted: tuple[Any, ...]) -> str:
    names = {bool: "true or false", int: "an integer", str: "a string", dict: "an object", list: "a list"}
    text = " or ".join(names[t] for t in accepted if t is not None)
    return text + (" or null" if None in accepted else "")


def check_config(body: dict[str, Any]) -> list[str]:
    """Problems with a gateway's writable fields (types, enums, ranges, spend_limits), one per field."""
    problems = []
    for name, value in body.items():
        if name in ENUMS:
            if value not in ENUMS[name]:
                allowed = ", ".join("null" if v is None else v for v in ENUMS[name])
                problems.append(f"{name}: must be one of {allowed}")
        elif not _type_ok(value, TYPES[name]):
            problems.append(f"{name}: must be {_type_name(TYPES[name])}")
        elif isinstance(value, int) and not isinstance(value, bool):
            lo, hi = RANGES.get(name, (0, None))
            if value < lo or (hi is not None and value > hi):
                problems.append(
                    f"{name}: must be between {lo} and {hi}" if hi else f"{name}: must not be negative"
                )
        elif name == "spend_limits" and value is not None:
            problems += check_spend_limits(value)
    return problems


def check_spend_limits(value: dict[str, Any]) -> list[str]:
    problems = [f"spend_limits.{k}: unknown field" for k in value if k not in ("enabled", "rules")]
    if "enabled" in value and not isinstance(value["enabled"], bool):
        problems.append("spend_limits.enabled: must be true or false")
    rules = value.get("rules", [])
    if not isinstance(rules, list):
        return [*problems, "spend_limits.rules: must be a list"]
    if len(rules) > MAX_RULES:
        problems.append(f"spend_limits.rules: at most {MAX_RULES} rules per gateway, not {len(rules)}")
    ids = [r.get("id") for r in rules if isinstance(r, dict) and r.get("id") is not None]
    for n, rule in enumerate(rules):
        label = f"spend_limits.rules[{n}]"
        if not isinstance(rule, dict):
            problems.append(f"{label}: must be an object")
            continue
        problems += _check_rule(label, rule)
        if rule.get("id") is not None and ids.count(rule["id"]) > 1:
            problems.append(f"{label}.id: duplicate rule id {rule['id']!r}")
    return problems


def _check_rule(label: str, rule: dict[str, Any]) -> list[str]:
    problems = [f"{label}.{k}: unknown field" for k in rule if k not in RULE_FIELDS]
    problems += [f"{label}.{k}: required" for k in ("limit", "limitType", "window") if k not in rule]
    limit, window = rule.get("limit"), rule.get("window")
    if "limit" in rule and not (
        isinstance(limit, int | Decimal)
        and not isinstance(limit, bool)
        and Decimal(limit).is_finite()
        and limit > 0
    ):
        problems.append(f"{label}.limit: must be a number of US dollars above 0")
    if "limitType" in rule and rule["limitType"] != "cost":
        problems.append(f"{label}.limitType: must be cost")
    if "window" in rule and not (isinstance(window, int) and not isinstance(window, bool) and window > 0):
        problems.append(f"{label}.window: must be a positive integer number of seconds")
    if "technique" in rule and rule["technique"] not in ("fixed", "sliding"):
        problems.append(f"{label}.technique: must be one of fixed, sliding")
    if "id" in rule and not (isinstance(rule["id"], str) and rule["id"]):
        problems.append(f"{label}.id: must be a non-empty string")
    if "enabled" in rule and not isinstance(rule["enabled"], bool):
        problems.append(f"{label}.enabled: must be true or false")
    for scope in ("model", "provider"):
        if scope in rule and not _is_filter(rule[scope]):
            problems.append(f'{label}.{scope}: must be {{"mode": "filter", "values": [strings]}}')
    metadata = rule.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(v, dict) and (v == {"mode": "partition"} or _is_filter(v)) for v in metadata.values()
    ):
        problems.append(f'{label}.metadata: each key must map to {{"mode": "partition"}} or a filter')
    return problems


def _is_filter(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"mode", "values"}
        and value["mode"] == "filter"
        and isinstance(value["values"], list)
        and bool(value["values"])
        and all(isinstance(v, str) and v for v in value["values"])
    )


def with_rule_ids(config: dict[str, Any], account_id: str, gateway_id: str, at_ms: int) -> dict[str, Any]:
    """The config as stored: every rule gets an id (deterministic: from the account, gateway, time, place)."""
    limits = config.get("spend_limits")
    if not limits or not limits.get("rules"):
        return config
    rules = []
    for n, rule in enumerate(limits["rules"]):
        if rule.get("id") is None:
            seed = f"{account_id}:{gateway_id}:{at_ms}:{n}".encode()
            rule = {**rule, "id": "rule_" + hashlib.blake2b(seed, digest_size=6).hexdigest()}
        rules.append(rule)
    return {**config, "spend_limits": {**limits, "rules": rules}}


def find(traffic: Traffic, gateway_id: str) -> Gateway:
    gateway = traffic.gateways.get(gateway_id)
    if gateway is None:
        raise ApiError(404, [(CODE_GATEWAY_NOT_FOUND, f"gateway: no gateway {gateway_id!r} in this account")])
    return gateway


def _page_number(ctx: Context, name: str, default: int, maximum: int) -> int:
    text = ctx.query.get(name) or str(default)
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise _bad([f"{name}: must be an integer from 1 to {maximum}"])
    return int(text)


def list_gateways(ctx: Context) -> Result:
    page = _page_number(ctx, "page", 1, 1_000_000)
    per_page = _page_number(ctx, "per_page", 20, 100)
    search = ctx.query.get("search", "")
    found = [g for g in ctx.account.traffic.gateways.values() if search in g.id]
    chunk = found[(page - 1) * per_page : page * per_page]
    info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(found)}
    return 200, [gateway_wire(g) for g in chunk], info


def get_gateway(ctx: Context, gateway_id: str) -> Result:
    return 200, gateway_wire(find(ctx.account.traffic, gateway_id)), None


def put_gateway(ctx: Context, gateway_id: str) -> Result:
    gateway = find(ctx.account.traffic, gateway_id)
    body = json_body(ctx, REQUIRED, OPTIONAL)
    problems = check_config(body)
    if problems:
        raise _bad(problems)
    # modified_at must move on every change, even with the simulated clock frozen.
    at_ms = max(ctx.now_ms, gateway.modified_ms + 1)
    gateway.config = with_rule_ids(body, ctx.account.id, gateway.id, at_ms)
    gateway.modified_ms = at_ms
    return 200, gateway_wire(gateway), None
