"""The control API's gateway calls: shape an account's gateways and traffic mix, read what rules refused.

    GET /__sandbox__/accounts/<id>/gateways       -> {"gateways": [gateway], "mix": [entry]}
    PUT /__sandbox__/accounts/<id>/gateways       <- {"gateways"?: [gateway], "mix"?: [entry]}
    GET /__sandbox__/accounts/<id>/spend-limits   -> per gateway: refused requests and each rule's window

Raises `ValueError` for a bad request (400) and `LookupError` for an unknown account (404).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from . import gateways as wire
from . import spend_rules
from .model import Account, Billing
from .traffic import DEFAULT_CONFIG, DEFAULT_GATEWAY, ZERO, Gateway, MixEntry, Traffic

GATEWAY_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MIX_FIELDS = {"gateway", "provider", "model", "weight"}
CENT = Decimal("0.01")


def handle(billing: Billing, method: str, account_id: str, what: str, data: Any) -> tuple[int, Any]:
    account = billing.accounts.get(account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    if (method, what) == ("GET", "gateways"):
        return 200, gateways_state(account.traffic)
    if (method, what) == ("PUT", "gateways"):
        if not isinstance(data, dict) or not set(data) <= {"gateways", "mix"}:
            raise ValueError('request body: must be {"gateways"?: [...], "mix"?: [...]}')
        set_gateways(account, data, billing.now_ms)
        return 200, gateways_state(account.traffic)
    if (method, what) == ("GET", "spend-limits"):
        return 200, refusals(account.traffic, billing.now_ms)
    raise LookupError(f"no control route {method} /__sandbox__/accounts/<id>/{what}")


def gateways_state(traffic: Traffic) -> dict[str, Any]:
    return {
        "gateways": [wire.gateway_wire(g) for g in traffic.gateways.values()],
        "mix": [vars(e) for e in traffic.mix],
    }


def set_gateways(account: Account, data: dict[str, Any], now_ms: int) -> None:
    """Replace the account's gateways and/or its mix; nothing changes when anything is wrong."""
    traffic = account.traffic
    new = traffic.gateways
    if "gateways" in data:
        new = _gateways(account, data["gateways"], now_ms)
    mix = _mix(data["mix"]) if "mix" in data else traffic.mix
    gone = sorted({e.gateway for e in mix} - set(new))
    if gone:
        raise ValueError(f"mix: refers to gateway {gone[0]!r}, which the account does not have")
    traffic.gateways, traffic.mix = new, mix


def _gateways(account: Account, items: Any, now_ms: int) -> dict[str, Gateway]:
    if not isinstance(items, list) or not items:
        raise ValueError("gateways: must be a non-empty list (an account's traffic goes through a gateway)")
    out: dict[str, Gateway] = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not GATEWAY_ID_RE.match(str(item.get("id", ""))):
            raise ValueError(f"gateways[{n}].id: required, lowercase letters, digits, - and _")
        if item["id"] in out:
            raise ValueError(f"gateways[{n}].id: duplicate gateway {item['id']!r}")
        fields = {k: v for k, v in item.items() if k != "id"}
        unknown = [k for k in fields if k not in wire.REQUIRED + wire.OPTIONAL]
        problems = [f"{k}: unknown field" for k in unknown] or wire.check_config(fields)
        if problems:
            raise ValueError(f"gateways[{n}].{problems[0]}")
        old = account.traffic.gateways.get(item["id"])
        config = {**(old.config if old else DEFAULT_CONFIG), **fields}
        config = wire.with_rule_ids(config, account.id, item["id"], now_ms)
        if old is None:
            gateway = Gateway(item["id"], config, now_ms, now_ms, is_default=item["id"] == DEFAULT_GATEWAY)
        else:
            moved = old.modified_ms if config == old.config else max(now_ms, old.modified_ms + 1)
            gateway = Gateway(old.id, config, old.created_ms, moved, old.is_default)
        out[gateway.id] = gateway
    return out


def _weight(value: Any, label: str) -> Decimal:
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or not Decimal(value).is_finite():
        raise ValueError(f"{label}.weight: must be a positive number")
    if value <= 0:
        raise ValueError(f"{label}.weight: must be a positive number")
    return Decimal(value)


def _mix(items: Any) -> list[MixEntry]:
    if not isinstance(items, list) or not items:
        raise ValueError('mix: must be a non-empty list of {"gateway", "provider", "model", "weight"}')
    out: list[MixEntry] = []
    for n, item in enumerate(items):
        label = f"mix[{n}]"
        if not isinstance(item, dict) or set(item) != MIX_FIELDS:
            raise ValueError(f'{label}: must be {{"gateway", "provider", "model", "weight"}}')
        for name in ("gateway", "provider", "model"):
            if not isinstance(item[name], str) or not item[name]:
                raise ValueError(f"{label}.{name}: must be a non-empty string")
        entry = MixEntry(item["gateway"], item["provider"], item["model"], _weight(item["weight"], label))
        if any((e.gateway, e.provider, e.model) == (entry.gateway, entry.provider, entry.model) for e in out):
            raise ValueError(
                f"{label}: {entry.gateway} / {entry.provider} / {entry.model} is already in the mix"
            )
        out.append(entry)
    return out


def refusals(traffic: Traffic, now_ms: int) -> dict[str, Any]:
    """Per gateway: requests refused by its rules (all time) and, per rule in place, its window now."""
    out = []
    for gateway in traffic.gateways.values():
        counters = {rule: c for (g, rule), c in traffic.refused.items() if g == gateway.id}
        rules = []
        for rule in (gateway.config.get("spend_limits") or {}).get("rules") or []:
            spend = spend_rules.window_spend(traffic, gateway.id, rule, now_ms, now_ms)
            counter = counters.get(rule["id"])
            rules.append(
                {
                    "id": rule["id"],
                    "in_force": rule in gateway.rules(),
                    "limit": Decimal(rule["limit"]),
                    "window": rule["window"],
                    "technique": rule.get("technique", "sliding"),
                    "window_spend": spend.quantize(Decimal("0.000001")),
                    "reached": Decimal(rule["limit"]) - spend < CENT,
                    "blocked_requests": int(counter.requests) if counter else 0,
                    "blocked_cost": counter.cost if counter else ZERO,
                    "last_blocked_ms": counter.last_ms if counter else None,
                }
            )
        out.append(
            {
                "id": gateway.id,
                "blocked_requests": int(sum((c.requests for c in counters.values()), ZERO)),
                "blocked_cost": sum((c.cost for c in counters.values()), ZERO),
                "rules": rules,
            }
        )
    return {"now_ms": now_ms, "gateways": out}
