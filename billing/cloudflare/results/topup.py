"""Results of the top-up operations: buying credits, its limits and status, and auto top-up."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.cloudflare.results.wire import Fields

__all__ = ["TopupConfig", "TopupConfigSet", "TopupCreateResult", "TopupLimits", "TopupStatus"]


@dataclass(frozen=True, slots=True)
class TopupConfig:
    """Auto top-up configuration (``disabledReason`` / ``lastFailedAt`` on the wire)."""

    amount: Decimal | None = None
    threshold: Decimal | None = None
    disabled_reason: str | None = None
    error: str | None = None
    last_failed_at: Decimal | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> TopupConfig:
        f = Fields(value, where)
        return cls(
            amount=f.decimal("amount", required=False),
            threshold=f.decimal("threshold", required=False),
            disabled_reason=f.text("disabledReason", "disabled_reason", required=False),
            error=f.text("error", required=False),
            last_failed_at=f.decimal("lastFailedAt", "last_failed_at", required=False),
        )


@dataclass(frozen=True, slots=True)
class TopupCreateResult:
    onboarding: bool
    payment_intent_id: str
    client_secret: str | None = None
    brand: str | None = None
    last4: str | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> TopupCreateResult:
        f = Fields(value, where)
        return cls(
            onboarding=f.flag("onboarding"),
            payment_intent_id=f.text("payment_intent_id"),
            client_secret=f.text("client_secret", required=False),
            brand=f.text("brand", required=False),
            last4=f.text("last4", required=False),
        )


@dataclass(frozen=True, slots=True)
class TopupStatus:
    payment_intent_id: str
    status: str  # "completed" | "pending"; kept as sent so a new state is visible rather than fatal

    @classmethod
    def from_wire(cls, value: Any, where: str) -> TopupStatus:
        f = Fields(value, where)
        return cls(payment_intent_id=f.text("payment_intent_id"), status=f.text("status"))


@dataclass(frozen=True, slots=True)
class TopupLimits:
    min_cents: int
    max_cents: int
    currency: str

    @classmethod
    def from_wire(cls, value: Any, where: str) -> TopupLimits:
        f = Fields(value, where)
        return cls(
            min_cents=f.integer("min_cents"), max_cents=f.integer("max_cents"), currency=f.text("currency")
        )


@dataclass(frozen=True, slots=True)
class TopupConfigSet:
    amount: Decimal
    threshold: Decimal

    @classmethod
    def from_wire(cls, value: Any, where: str) -> TopupConfigSet:
        f = Fields(value, where)
        return cls(amount=f.decimal("amount"), threshold=f.decimal("threshold"))
