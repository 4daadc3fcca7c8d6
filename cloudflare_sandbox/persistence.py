"""The state file's format: the whole simulated world as JSON-ready data, and back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .model import HOUR_MS, Account, Billing, Invoice, TopUp
from .traffic import Traffic, traffic_from_dict, traffic_to_dict


def billing_to_dict(billing: Billing) -> dict[str, Any]:
    return {
        "version": 1,
        "now_ms": billing.now_ms,
        "accounts": [_account_to_dict(a) for a in billing.accounts.values()],
    }


def billing_from_dict(data: dict[str, Any], topup_delay_ms: int, fee_percent: Decimal) -> Billing:
    billing = Billing(int(data["now_ms"]), topup_delay_ms, fee_percent)
    for item in data["accounts"]:
        account = _account_from_dict(item)
        billing.accounts[account.id] = account
    return billing


def _account_to_dict(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "created_ms": a.created_ms,
        "balance": str(a.balance),
        "payment_method": a.payment_method,
        "first_topup_success": a.first_topup_success,
        "usage_per_hour": str(a.usage_per_hour),
        "usage_rhythm": a.usage_rhythm,
        "usage_delay_hours": a.usage_delay_hours,
        "usage_delay_floor_hour": a.usage_delay_floor_hour,
        "topup_config": a.topup_config,
        "topup_error": a.topup_error,
        "topup_disabled_reason": a.topup_disabled_reason,
        "topup_last_failed_at": a.topup_last_failed_at,
        "spending_limit": a.spending_limit,
        "usage_start_hour": a.usage_start_hour,
        "usage": " ".join(str(v) for v in a.usage),
        "accrued_until_ms": a.accrued_until_ms,
        "balance_start_hour": a.balance_start_hour,
        "balance_history": " ".join(str(v) for v in a.balance_history),
        "topups": [vars(t) for t in a.topups.values()],
        "invoices": [vars(i) for i in a.invoices],
        "traffic": traffic_to_dict(a.traffic),
    }


def _account_from_dict(d: dict[str, Any]) -> Account:
    topups = [TopUp(**t) for t in d["topups"]]
    return Account(
        id=d["id"],
        name=d["name"],
        created_ms=int(d["created_ms"]),
        balance=Decimal(d["balance"]),
        payment_method=d["payment_method"],
        first_topup_success=bool(d["first_topup_success"]),
        usage_per_hour=Decimal(d["usage_per_hour"]),
        usage_rhythm=bool(d["usage_rhythm"]),
        usage_delay_hours=int(d.get("usage_delay_hours", 0)),
        usage_delay_floor_hour=int(d.get("usage_delay_floor_hour", 0)),
        topup_config=d["topup_config"],
        topup_error=d["topup_error"],
        topup_disabled_reason=d["topup_disabled_reason"],
        topup_last_failed_at=d["topup_last_failed_at"],
        spending_limit=d["spending_limit"],
        usage_start_hour=int(d["usage_start_hour"]),
        usage=[Decimal(v) for v in d["usage"].split()],
        accrued_until_ms=int(d["accrued_until_ms"]),
        # State files written before the balance history existed start it at their next hour boundary.
        balance_start_hour=int(d.get("balance_start_hour", -(-int(d["accrued_until_ms"]) // HOUR_MS))),
        balance_history=[Decimal(v) for v in d.get("balance_history", "").split()],
        topups={t.payment_intent_id: t for t in topups},
        invoices=[Invoice(**i) for i in d["invoices"]],
        # State files from before gateways existed get the default one; their past usage stays unattributed.
        traffic=traffic_from_dict(d["traffic"])
        if "traffic" in d
        else Traffic.default(int(d["usage_start_hour"]), int(d["created_ms"])),
    )
