"""Per-gateway spend-limit rules, enforced in simulated time.

Before a stretch of usage [t0, t1) is billed, every rule in force on a gateway looks at what its matching
traffic (same gateway; model and provider filters) has spent in the rule's window, and lets through only
what still fits: `fixed` windows are calendar-aligned blocks of `window` seconds since the epoch (a stretch
never crosses one), `sliding` windows are the `window` seconds up to t1. What does not fit is refused: not
billed, counted against the rule. Window spend is read off the hourly slices, spread evenly over each hour
(over its elapsed part for the open hour); a sliding window shorter than an hour is enforced in steps of
its own length (at least a minute), so limits are exact for whole hours and close below that, and, like
Cloudflare's, only eventually consistent.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from .traffic import HOUR_MS, MICRO, ZERO, Slice, Traffic, request_shape

MIN_STEP_MS = 60_000
ONE = Decimal(1)

Shares = list[tuple[int, Decimal]]  # (slice index, dollars)
Refusal = tuple[int, Decimal, tuple[str, str]]  # slice index, dollars refused, (gateway, rule id)


def is_sliding(rule: dict[str, Any]) -> bool:
    """Cloudflare's spec: a rule without `technique` is a sliding window."""
    return rule.get("technique", "sliding") == "sliding"


def window_ms(rule: dict[str, Any]) -> int:
    return int(rule["window"]) * 1000


def window_start(rule: dict[str, Any], t0: int, t1: int) -> int:
    """First instant of the window that decides a stretch [t0, t1)."""
    if is_sliding(rule):
        return t1 - window_ms(rule)
    return t0 // window_ms(rule) * window_ms(rule)


def matches(rule: dict[str, Any], s: Slice) -> bool:
    """Whether a rule covers a slice's traffic (simulated traffic has no custom metadata to match)."""
    if rule.get("metadata"):
        return False
    for name, value in (("model", s.model), ("provider", s.provider)):
        scope = rule.get(name)
        if scope and value not in scope["values"]:
            return False
    return True


def next_boundary(traffic: Traffic, t: int) -> int | None:
    """The next instant after `t` where a stretch of usage must end so every rule sees its window move."""
    best: int | None = None
    for gateway in traffic.gateways.values():
        for rule in gateway.rules():
            w = window_ms(rule)
            if is_sliding(rule):
                if w >= HOUR_MS:
                    continue  # hourly stretches already let the window move often enough
                edge = t + max(MIN_STEP_MS, w)
            else:
                edge = max((t // w + 1) * w, t + MIN_STEP_MS) if w < MIN_STEP_MS else (t // w + 1) * w
            best = edge if best is None else min(best, edge)
    return best


def _hour_part(s: Slice, start_hour: int, hour: int, a: int, b: int, accrued_ms: int) -> Decimal:
    index = hour - start_hour
    if index < 0 or index >= len(s.cost):
        return ZERO
    hs = hour * HOUR_MS
    he = min(hs + HOUR_MS, accrued_ms)
    overlap = min(b, he) - max(a, hs)
    if he <= hs or overlap <= 0:
        return ZERO
    if overlap >= he - hs:
        return s.cost[index]
    return s.cost[index] * overlap / (he - hs)


def spent(s: Slice, start_hour: int, a: int, b: int, accrued_ms: int) -> Decimal:
    """Dollars billed to a slice in [a, b), each hour's spread evenly over the part of it that has passed."""
    if b <= a:
        return ZERO
    lo, hi = a // HOUR_MS, (b - 1) // HOUR_MS
    total = _hour_part(s, start_hour, lo, a, b, accrued_ms)
    if hi > lo:
        total += _hour_part(s, start_hour, hi, a, b, accrued_ms)
        total += s.prefix(hi - start_hour) - s.prefix(lo + 1 - start_hour)
    return total


def window_spend(traffic: Traffic, gateway: str, rule: dict[str, Any], t0: int, t1: int) -> Decimal:
    """What a rule's traffic has spent in the window deciding [t0, t1), up to t0."""
    lo = window_start(rule, t0, t1)
    return sum(
        (
            spent(s, traffic.start_hour, lo, t0, t0)
            for s in traffic.slices
            if s.gateway == gateway and matches(rule, s)
        ),
        ZERO,
    )


def admit(traffic: Traffic, t0: int, t1: int, shares: Shares) -> tuple[Shares, list[Refusal]]:
    """Apply every rule in force to a stretch's demand; return what is let through and what is refused.

    Where a rule's room is smaller than its traffic's demand, each of its slices gets the same fraction;
    a slice under several rules gets the smallest, and the rule that gave it is the one counted.
    """
    if not traffic.has_rules():
        return shares, []
    # Fractions are kept as (room, demand) so a slice that is a rule's whole demand gets exactly its room.
    factor = {i: (ONE, ONE) for i, _ in shares}
    culprit: dict[int, tuple[str, str]] = {}
    demand_of = dict(shares)
    for gateway in traffic.gateways.values():
        members = [i for i, d in shares if d > 0 and traffic.slices[i].gateway == gateway.id]
        rules = gateway.rules() if members else []
        for rule in rules:
            covered = [i for i in members if matches(rule, traffic.slices[i])]
            demand = sum((demand_of[i] for i in covered), ZERO)
            if not covered or not demand:
                continue
            room = Decimal(rule["limit"]) - window_spend(traffic, gateway.id, rule, t0, t1)
            if demand <= room:
                continue
            room = max(ZERO, room)
            for i in covered:
                num, den = factor[i]
                if room * den < num * demand:
                    factor[i], culprit[i] = (room, demand), (gateway.id, rule["id"])
    admitted = [
        (i, d if i not in culprit else (d * factor[i][0] / factor[i][1]).quantize(MICRO, ROUND_DOWN))
        for i, d in shares
    ]
    refusals = [(i, d - a, culprit[i]) for (i, d), (_, a) in zip(shares, admitted, strict=True) if a < d]
    return admitted, refusals


def commit(
    traffic: Traffic, index: int, at_ms: int, shares: Shares, billed: Shares, refusals: list[Refusal]
) -> None:
    """Record a stretch: billed and refused dollars per slice, refused requests per rule."""
    refused = [(i, d - b) for (i, d), (_, b) in zip(shares, billed, strict=True)]
    traffic.record(index, billed, refused)
    for i, dollars, (gateway, rule_id) in refusals:
        s = traffic.slices[i]
        per_request, _, _ = request_shape(s.provider, s.model)
        traffic.count_refusal(gateway, rule_id, dollars / per_request, dollars, at_ms)
