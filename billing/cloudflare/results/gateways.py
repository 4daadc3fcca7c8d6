"""Results of the AI Gateway gateway calls: a gateway, its spend limits, and one page of the list.

A gateway keeps ``raw``, the whole object as read, because Cloudflare's update replaces the whole gateway:
a change to its spend limits must send every other field back exactly as read. Rule limits are US dollars
(Decimal, as sent); ``window`` is an integer whose unit the SDK does not document (read as seconds).

Absent fields mean what Cloudflare's API spec says they default to: a rule without ``technique`` is a
``sliding`` window, and spend limits without ``enabled`` are off (``SpendLimits.in_force`` is False): their
rules are stored and not enforced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.cloudflare.results.wire import Fields, strings

__all__ = ["DEFAULT_TECHNIQUE", "Gateway", "GatewayPage", "ResultInfo", "SpendLimitRule", "SpendLimits"]

_FILTER = "filter"
# Cloudflare's spec: a rule whose `technique` is absent is enforced over a sliding window.
DEFAULT_TECHNIQUE = "sliding"


def _filter_values(value: Any, where: str) -> tuple[str, ...]:
    """The values of a ``{mode: "filter", values: [...]}`` scope."""
    f = Fields(value, where)
    f.text("mode")
    return f.nested(strings, "values")


def _set_or_drop(wire: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        wire.pop(name, None)
    else:
        wire[name] = value


@dataclass(frozen=True, slots=True)
class SpendLimitRule:
    """One spend-limit rule: a budget of ``limit`` US dollars per ``window`` (seconds), over a ``fixed`` or
    ``sliding`` window (``sliding`` when Cloudflare's answer leaves it out). ``models`` /
    ``providers``: the rule applies only to these (None: to all). ``metadata`` as sent (partition / filter
    per key). ``raw`` keeps fields this client does not know so that ``to_wire`` sends them back."""

    limit: Decimal
    window: int
    limit_type: str = "cost"
    id: str | None = None
    technique: str | None = None  # None only on a rule built without one: Cloudflare's default applies
    enabled: bool | None = None
    models: tuple[str, ...] | None = None
    providers: tuple[str, ...] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_wire(cls, value: Any, where: str) -> SpendLimitRule:
        f = Fields(value, where)
        return cls(
            limit=f.decimal("limit"),
            window=f.integer("window"),
            limit_type=f.text("limitType", "limit_type"),
            id=f.text("id", required=False),
            technique=f.text("technique", required=False) or DEFAULT_TECHNIQUE,
            enabled=f.flag("enabled", required=False),
            models=f.nested(_filter_values, "model", required=False),
            providers=f.nested(_filter_values, "provider", required=False),
            metadata=dict(f.object("metadata", required=False) or {}),
            raw=dict(f.obj),
        )

    def to_wire(self) -> dict[str, Any]:
        """The rule as Cloudflare's JSON (camelCase ``limitType``), unknown fields as read."""
        wire = {key: value for key, value in self.raw.items() if key != "limit_type"}
        wire.update(limit=self.limit, limitType=self.limit_type, window=self.window)
        _set_or_drop(wire, "id", self.id)
        _set_or_drop(wire, "technique", self.technique)
        _set_or_drop(wire, "enabled", self.enabled)
        scopes = (("model", self.models), ("provider", self.providers))
        for name, values in scopes:
            _set_or_drop(wire, name, None if values is None else {"mode": _FILTER, "values": list(values)})
        _set_or_drop(wire, "metadata", dict(self.metadata) if self.metadata else None)
        return wire


@dataclass(frozen=True, slots=True)
class SpendLimits:
    """A gateway's spend limits. ``enabled`` None when Cloudflare did not say, which its spec reads as off."""

    enabled: bool | None = None
    rules: tuple[SpendLimitRule, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def in_force(self) -> bool:
        """Whether Cloudflare enforces these rules: only when ``enabled`` is true (absent means off)."""
        return self.enabled is True

    @classmethod
    def from_wire(cls, value: Any, where: str) -> SpendLimits:
        f = Fields(value, where)
        return cls(
            enabled=f.flag("enabled", required=False),
            rules=f.items(SpendLimitRule.from_wire, "rules", required=False) or (),
            raw=dict(f.obj),
        )

    def to_wire(self) -> dict[str, Any]:
        """The spend limits as Cloudflare's JSON, unknown fields as read."""
        wire = dict(self.raw)
        _set_or_drop(wire, "enabled", self.enabled)
        wire["rules"] = [rule.to_wire() for rule in self.rules]
        return wire


@dataclass(frozen=True, slots=True)
class Gateway:
    """One AI gateway. ``id`` is its name within the account; times are aware datetimes. ``spend_limits``
    is empty (no rules, ``enabled`` None) when the gateway has none. ``raw``: the object exactly as read."""

    id: str
    created_at: datetime
    modified_at: datetime
    cache_invalidate_on_update: bool
    cache_ttl: int | None
    collect_logs: bool
    rate_limiting_interval: int | None
    rate_limiting_limit: int | None
    rate_limiting_technique: str | None = None
    is_default: bool | None = None
    spend_limits: SpendLimits = field(default_factory=SpendLimits)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_wire(cls, value: Any, where: str) -> Gateway:
        f = Fields(value, where)
        return cls(
            id=f.text("id"),
            created_at=f.moment("created_at"),
            modified_at=f.moment("modified_at"),
            cache_invalidate_on_update=f.flag("cache_invalidate_on_update"),
            cache_ttl=f.integer("cache_ttl", required=False),
            collect_logs=f.flag("collect_logs"),
            rate_limiting_interval=f.integer("rate_limiting_interval", required=False),
            rate_limiting_limit=f.integer("rate_limiting_limit", required=False),
            rate_limiting_technique=f.text("rate_limiting_technique", required=False),
            is_default=f.flag("is_default", required=False),
            spend_limits=f.nested(SpendLimits.from_wire, "spend_limits", required=False) or SpendLimits(),
            raw=dict(f.obj),
        )


@dataclass(frozen=True, slots=True)
class ResultInfo:
    """V4 page pagination, as sent in the envelope's ``result_info``."""

    page: int | None = None
    per_page: int | None = None
    count: int | None = None
    total_count: int | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> ResultInfo:
        f = Fields(value, where)
        return cls(
            page=f.integer("page", required=False),
            per_page=f.integer("per_page", required=False),
            count=f.integer("count", required=False),
            total_count=f.integer("total_count", required=False),
        )


@dataclass(frozen=True, slots=True)
class GatewayPage:
    """One page of ``ai_gateway.list``: the envelope's ``result`` and ``result_info``."""

    gateways: tuple[Gateway, ...]
    info: ResultInfo

    @classmethod
    def from_wire(cls, value: Any, where: str) -> GatewayPage:
        f = Fields(value, where)
        return cls(
            gateways=f.items(Gateway.from_wire, "result"),
            info=f.nested(ResultInfo.from_wire, "result_info", required=False) or ResultInfo(),
        )
