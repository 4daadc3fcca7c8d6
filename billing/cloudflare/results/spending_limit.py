"""Result of reading the account-level spending limit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.cloudflare.results.wire import Fields

__all__ = ["SpendingLimit", "SpendingLimitConfig"]


@dataclass(frozen=True, slots=True)
class SpendingLimitConfig:
    amount: Decimal | None = None
    duration: str | None = None
    strategy: str | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> SpendingLimitConfig:
        f = Fields(value, where)
        return cls(
            amount=f.decimal("amount", required=False),
            duration=f.text("duration", required=False),
            strategy=f.text("strategy", required=False),
        )


@dataclass(frozen=True, slots=True)
class SpendingLimit:
    config: SpendingLimitConfig
    enabled: bool

    @classmethod
    def from_wire(cls, value: Any, where: str) -> SpendingLimit:
        f = Fields(value, where)
        return cls(config=f.nested(SpendingLimitConfig.from_wire, "config"), enabled=f.flag("enabled"))
