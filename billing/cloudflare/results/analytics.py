"""Results of the spend analytics query (GraphQL dataset ``aiGatewayRequestsAdaptiveGroups``).

``cost`` is US dollars as Cloudflare estimates it from model pricing (not the invoice), a Decimal as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.cloudflare.results.wire import Fields, strings

__all__ = ["DatasetSettings", "SpendGroup", "dataset_settings", "spend_groups"]


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


@dataclass(frozen=True, slots=True)
class DatasetSettings:
    """The dataset's limits for this token and account, as the ``settings`` node answers them: how wide a
    query's time range may be (``max_duration``, seconds), how far back it may start (``not_older_than``,
    seconds), how many groups one query returns (``max_page_size``) and how many fields it may ask for
    (``max_number_of_fields``). ``available_fields`` is empty when Cloudflare did not list them."""

    enabled: bool
    max_duration: int
    not_older_than: int
    max_page_size: int
    max_number_of_fields: int
    available_fields: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, value: Any, where: str) -> DatasetSettings:
        f = Fields(value, where)
        return cls(
            enabled=f.flag("enabled", required=False) is not False,
            max_duration=f.integer("maxDuration"),
            not_older_than=f.integer("notOlderThan"),
            max_page_size=f.integer("maxPageSize"),
            max_number_of_fields=f.integer("maxNumberOfFields"),
            available_fields=tuple(f.nested(strings, "availableFields", required=False) or ()),
        )


def _account_settings(value: Any, where: str) -> DatasetSettings | None:
    settings = Fields(value, where).object("settings", required=False)
    if settings is None:
        return None
    return Fields(settings, f"{where}.settings").nested(
        DatasetSettings.from_wire, "aiGatewayRequestsAdaptiveGroups", required=False
    )


def dataset_settings(value: Any, where: str) -> DatasetSettings | None:
    """The settings of ``aiGatewayRequestsAdaptiveGroups`` under ``data.viewer.accounts[0].settings`` (None
    when Cloudflare sent none)."""
    viewer = Fields(Fields(value, where).object("viewer"), f"{where}.viewer")
    found = [item for item in viewer.items(_account_settings, "accounts") if item is not None]
    return found[0] if found else None
