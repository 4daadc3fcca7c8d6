"""Where an account's usage goes: its gateways, the traffic mix over gateways × providers × models, and the
hourly cost (billed) and refused spend of each (gateway, provider, model) slice.

The billing engine asks `split()` how an amount of usage divides over the mix and records what was billed
and what was refused with `record()`. Every slice keeps one Decimal per epoch hour, parallel to the
account's `usage` list, so the slices of an hour always sum to the hour's billed usage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

HOUR_MS = 3_600_000
MICRO = Decimal("0.000001")
ZERO = Decimal(0)
DEFAULT_GATEWAY = "default"

# What a gateway looks like when Cloudflare creates it (and what the control API fills in when not given).
DEFAULT_CONFIG: dict[str, Any] = {
    "cache_invalidate_on_update": False,
    "cache_ttl": 0,
    "collect_logs": True,
    "rate_limiting_interval": 0,
    "rate_limiting_limit": 0,
    "rate_limiting_technique": "fixed",
    "authentication": False,
    "log_management": 10_000_000,
    "log_management_strategy": "STOP_INSERTING",
    "logpush": False,
    "zdr": False,
}


# Per provider/model: dollars per million tokens in and out, and a typical request's tokens in and out.
# Cost, tokens and request counts are derived from each other with these, so they agree.
PRICING: dict[tuple[str, str], tuple[Decimal, Decimal, int, int]] = {
    ("openai", "gpt-4o-mini"): (Decimal("0.15"), Decimal("0.60"), 1200, 350),
    ("openai", "gpt-4o"): (Decimal("2.50"), Decimal("10.00"), 1500, 400),
    ("anthropic", "claude-sonnet-4"): (Decimal("3.00"), Decimal("15.00"), 1800, 500),
    ("anthropic", "claude-3-5-haiku"): (Decimal("0.80"), Decimal("4.00"), 1400, 350),
    ("workers-ai", "@cf/meta/llama-3.1-8b-instruct"): (Decimal("0.28"), Decimal("0.83"), 800, 300),
    ("google-ai-studio", "gemini-2.0-flash"): (Decimal("0.10"), Decimal("0.40"), 1000, 300),
}
OTHER_MODEL = (Decimal("1.00"), Decimal("3.00"), 1000, 300)


def request_shape(provider: str, model: str) -> tuple[Decimal, int, int]:
    """(dollars per request, tokens in, tokens out) of a typical request to this model."""
    price_in, price_out, tokens_in, tokens_out = PRICING.get((provider, model), OTHER_MODEL)
    return (price_in * tokens_in + price_out * tokens_out) / 1_000_000, tokens_in, tokens_out


def _entry_seed(e: MixEntry) -> int:
    digest = hashlib.blake2b(f"{e.gateway}/{e.provider}/{e.model}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def unit_hash(*parts: object) -> Decimal:
    """A deterministic number in [0, 1) for `parts` (no randomness: the same world every run)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=4).digest()
    return Decimal(int.from_bytes(digest, "big") % 1_000_001) / 1_000_000


@dataclass
class Gateway:
    id: str
    config: dict[str, Any]  # the writable fields, as last PUT (spend_limits with its rule ids filled in)
    created_ms: int
    modified_ms: int
    is_default: bool = False
    # (the config they were read from, the rules in force): asked for on every stretch of usage.
    _rules: tuple[dict[str, Any], list[dict[str, Any]]] | None = field(
        default=None, repr=False, compare=False
    )

    def rules(self) -> list[dict[str, Any]]:
        """The spend-limit rules in force: none unless `spend_limits.enabled` is true (Cloudflare's spec
        defaults it to false: rules stored without it are not enforced), and none that is off itself.

        A new config must be a new dict (as a PUT makes): that is what refreshes the cache.
        """
        if self._rules is not None and self._rules[0] is self.config:
            return self._rules[1]
        limits = self.config.get("spend_limits") or {}
        rules = (limits.get("rules") or []) if limits.get("enabled") is True else []
        in_force = [r for r in rules if r.get("enabled", True) is not False]
        self._rules = (self.config, in_force)
        return in_force


@dataclass(frozen=True)
class MixEntry:
    gateway: str
    provider: str
    model: str
    weight: Decimal


@dataclass
class Slice:
    gateway: str
    provider: str
    model: str
    cost: list[Decimal] = field(default_factory=list)  # billed dollars per hour from the account's start
    blocked: list[Decimal] = field(default_factory=list)  # dollars refused per hour
    cum: list[Decimal] = field(default_factory=lambda: [ZERO])  # cum[i] = sum(cost[:i]) for finished hours

    def grow(self, index: int) -> None:
        while len(self.cost) <= index:
            if self.cost:
                self.cum.append(self.cum[-1] + self.cost[-1])
            self.cost.append(ZERO)
            self.blocked.append(ZERO)

    def prefix(self, k: int) -> Decimal:
        """Billed dollars in the first `k` hours (the open last hour included when k reaches it)."""
        k = max(0, min(k, len(self.cost)))
        if k < len(self.cum):
            return self.cum[k]
        return self.cum[-1] + self.cost[-1]


@dataclass
class Counter:
    """Requests refused by one spend-limit rule (fractional until shown) and the dollars they would cost."""

    requests: Decimal = ZERO
    cost: Decimal = ZERO
    last_ms: int | None = None


@dataclass
class Traffic:
    start_hour: int
    gateways: dict[str, Gateway] = field(default_factory=dict)
    mix: list[MixEntry] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    refused: dict[tuple[str, str], Counter] = field(default_factory=dict)  # (gateway, rule id) -> counts
    # (the mix it was made from, [(slice index, weight, seed)]): a new mix must be a new list.
    _plan: tuple[list[MixEntry], list[tuple[int, Decimal, int]]] | None = field(default=None, repr=False)

    @classmethod
    def default(cls, start_hour: int, created_ms: int) -> Traffic:
        """One `default` gateway carrying everything, as a new Cloudflare account has."""
        gateway = Gateway(DEFAULT_GATEWAY, dict(DEFAULT_CONFIG), created_ms, created_ms, is_default=True)
        mix = [MixEntry(DEFAULT_GATEWAY, "openai", "gpt-4o-mini", Decimal(1))]
        return cls(start_hour, {DEFAULT_GATEWAY: gateway}, mix)

    def slice_index(self, gateway: str, provider: str, model: str) -> int:
        for i, s in enumerate(self.slices):
            if s.gateway == gateway and s.provider == provider and s.model == model:
                return i
        self.slices.append(Slice(gateway, provider, model))
        return len(self.slices) - 1

    def has_rules(self) -> bool:
        return any(g.rules() for g in self.gateways.values())

    def split(self, hour: int, amount: Decimal) -> list[tuple[int, Decimal]]:
        """Divide `amount` over the mix for `hour`: (slice index, dollars) pairs summing exactly to it.

        Each entry's weight wobbles ±20 % from hour to hour, deterministically, so the mix looks alive.
        """
        if self._plan is None or self._plan[0] is not self.mix:
            entries = [
                (self.slice_index(e.gateway, e.provider, e.model), e.weight, _entry_seed(e)) for e in self.mix
            ]
            self._plan = (self.mix, entries)
        entries = self._plan[1]
        if len(entries) == 1:
            return [(entries[0][0], amount)]
        weights = [(i, w * (800 + ((hour * 2_654_435_761 + seed) >> 7) % 401)) for i, w, seed in entries]
        return allocate(amount, weights)

    def record(
        self, index: int, billed: list[tuple[int, Decimal]], refused: list[tuple[int, Decimal]]
    ) -> None:
        """Add one stretch of an hour: what each slice was billed and what was refused."""
        for i, dollars in billed:
            s = self.slices[i]
            s.grow(index)
            s.cost[index] += dollars
        for i, dollars in refused:
            if dollars:
                s = self.slices[i]
                s.grow(index)
                s.blocked[index] += dollars

    def count_refusal(
        self, gateway: str, rule_id: str, requests: Decimal, dollars: Decimal, at_ms: int
    ) -> None:
        counter = self.refused.setdefault((gateway, rule_id), Counter())
        counter.requests += requests
        counter.cost += dollars
        counter.last_ms = at_ms


def allocate(amount: Decimal, weights: list[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    """Share `amount` by `weights`, to the micro-dollar, the last share taking what rounding left."""
    total = sum((w for _, w in weights), ZERO)
    if not weights or not total:
        return [(i, ZERO) for i, _ in weights]
    out = [(i, (amount * w / total).quantize(MICRO, ROUND_DOWN)) for i, w in weights[:-1]]
    out.append((weights[-1][0], amount - sum((d for _, d in out), ZERO)))
    return out


# -- persistence ---------------------------------------------------------------------------------


def traffic_to_dict(t: Traffic) -> dict[str, Any]:
    return {
        "start_hour": t.start_hour,
        "gateways": [
            {
                "id": g.id,
                "config": g.config,
                "created_ms": g.created_ms,
                "modified_ms": g.modified_ms,
                "is_default": g.is_default,
            }
            for g in t.gateways.values()
        ],
        "mix": [{**vars(e), "weight": str(e.weight)} for e in t.mix],
        "slices": [
            {
                "gateway": s.gateway,
                "provider": s.provider,
                "model": s.model,
                "cost": " ".join(str(v) for v in s.cost),
                "blocked": " ".join(str(v) for v in s.blocked),
            }
            for s in t.slices
        ],
        "refused": [
            {"gateway": g, "rule": r, "requests": str(c.requests), "cost": str(c.cost), "last_ms": c.last_ms}
            for (g, r), c in t.refused.items()
        ],
    }


def traffic_from_dict(d: dict[str, Any]) -> Traffic:
    t = Traffic(
        start_hour=int(d["start_hour"]),
        gateways={g["id"]: Gateway(**g) for g in d["gateways"]},
        mix=[MixEntry(e["gateway"], e["provider"], e["model"], Decimal(e["weight"])) for e in d["mix"]],
    )
    for item in d["slices"]:
        s = Slice(item["gateway"], item["provider"], item["model"])
        cost = [Decimal(v) for v in item["cost"].split()]
        s.blocked = [Decimal(v) for v in item["blocked"].split()]
        for value in cost:
            s.cum.append(s.cum[-1] + value)
        s.cum.pop()  # the open last hour is not in the prefix sums
        s.cost = cost
        if not cost:
            s.cum = [ZERO]
        t.slices.append(s)
    for item in d["refused"]:
        counter = Counter(Decimal(item["requests"]), Decimal(item["cost"]), item["last_ms"])
        t.refused[(item["gateway"], item["rule"])] = counter
    return t
