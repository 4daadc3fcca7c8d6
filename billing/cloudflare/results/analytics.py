"""Results of the spend analytics query (GraphQL dataset ``aiGatewayRequestsAdaptiveGroups``).

``cost`` is US dollars as Cloudflare estimates it from model pricing (not the invoice), a Decimal as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.cloudflare.results.wire import Fields

__all__ = ["SpendGroup", "spend_groups"]


def _count(f: Fields, name: str) -> int:
    # A sum over no requests may come back null: that is zero, not a missing field.
    return f.integer(name, required=False) or 0


@dataclass(frozen=True, slots=True)
class SpendGroup:
    """Requests of one hour to one gateway, model and provider, and what they cost."""

    hour: datetime
    gateway: str
    model: str
    provider: str
    requests: int
    cost: Decimal
    tokens_in: int
    tokens_out: int
    cached_tokens_in: int
    cached_tokens_out: int
    cached_requests: int
    errored_requests: int

    @classmethod
    def from_wire(cls, value: Any, where: str) -> SpendGroup:
        f = Fields(value, where)
        sums = Fields(f.object("sum"), f"{where}.sum")
        dims = Fields(f.object("dimensions"), f"{where}.dimensions")
        return cls(
            hour=dims.moment("datetimeHour"),
            gateway=dims.text("gateway", required=False) or "",
            model=dims.text("model", required=False) or "",
            provider=dims.text("provider", required=False) or "",
            requests=f.integer("count"),
            cost=sums.decimal("cost", required=False) or Decimal(0),
            tokens_in=_count(sums, "uncachedTokensIn"),
            tokens_out=_count(sums, "uncachedTokensOut"),
            cached_tokens_in=_count(sums, "cachedTokensIn"),
            cached_tokens_out=_count(sums, "cachedTokensOut"),
            cached_requests=_count(sums, "cachedRequests"),
            errored_requests=_count(sums, "erroredRequests"),
        )


def _account_groups(value: Any, where: str) -> tuple[SpendGroup, ...]:
    return Fields(value, where).items(SpendGroup.from_wire, "groups", required=False) or ()


def spend_groups(value: Any, where: str) -> tuple[SpendGroup, ...]:
    """The groups under ``data.viewer.accounts[*].groups``, in the order sent (none for no account)."""
    viewer = Fields(Fields(value, where).object("viewer"), f"{where}.viewer")
    accounts = viewer.items(_account_groups, "accounts")
    return tuple(group for groups in accounts for group in groups)
