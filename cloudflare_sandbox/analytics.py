"""The `aiGatewayRequestsAdaptiveGroups` dataset: an account's traffic as rows, filtered, grouped, ordered.

A base row is one (hour, gateway, provider, model) slice with billed or refused spend. Its figures are
derived from the billed dollars with the model's typical request (see `traffic.PRICING`), deterministically:
5–20 % of requests served from cache (free), 0.2–1.5 % upstream errors, refused requests counted as errored,
and `cost` is Cloudflare-style *estimated* spend, within ±2 % of what was billed (per hour and gateway).
Minute rows split an hour evenly over its minutes (the elapsed ones for the hour in progress).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from .model import DAY_MS, HOUR_MS, Account
from .traffic import MICRO, Slice, request_shape, unit_hash

MINUTE_MS = 60_000
DIMENSIONS = ("gateway", "model", "provider", "datetimeHour", "datetimeMinute", "date")
SUMS = (
    "cost",
    "uncachedTokensIn",
    "uncachedTokensOut",
    "cachedTokensIn",
    "cachedTokensOut",
    "cachedRequests",
    "erroredRequests",
)
FIGURES = ("count", *SUMS)
MAX_MINUTE_HOURS = 7 * 24
# Time filters: field prefix -> the instant of a row it constrains.
TIME_FIELDS = {"datetimeHour": "hour", "datetime": "minute", "datetimeMinute": "minute", "date": "day"}
SLICE_FIELDS = ("gateway", "model", "provider")

Cell = dict[str, Any]  # the FIGURES of a row
Bounds = tuple[float, float]  # an inclusive range of Unix ms, open ends as infinities


class QueryError(ValueError):
    """A query the dataset cannot answer (the message names the argument)."""


@dataclass
class Query:
    dimensions: tuple[str, ...]
    filters: dict[str, Any]  # times already as Unix ms; gateway/model/provider as strings or lists (_in)
    order_by: tuple[str, ...]
    limit: int


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_HALF_UP))


def _requests(dollars: Decimal, per_request: Decimal) -> int:
    return max(1, _round(dollars / per_request)) if dollars > 0 else 0


def cell(s: Slice, hour: int, cost: Decimal, refused: Decimal) -> Cell:
    """The figures of one slice for one hour, derived from its billed and refused dollars."""
    per_request, tokens_in, tokens_out = request_shape(s.provider, s.model)
    served = cost / per_request
    uncached = _requests(cost, per_request)
    cache_share = Decimal("0.05") + unit_hash(s.gateway, hour, "cache") * Decimal("0.15")
    cached = _round(uncached * cache_share / (1 - cache_share))
    failed = _round(
        (uncached + cached) * (Decimal("0.002") + unit_hash(s.model, hour, "err") * Decimal("0.013"))
    )
    blocked = _requests(refused, per_request)
    estimate_error = unit_hash(s.gateway, hour, "estimate") * Decimal("0.04") - Decimal("0.02")
    return {
        "count": uncached + cached + failed + blocked,
        "cost": (cost * (1 + estimate_error)).quantize(MICRO),
        "uncachedTokensIn": _round(served * tokens_in),
        "uncachedTokensOut": _round(served * tokens_out),
        "cachedTokensIn": cached * tokens_in,
        "cachedTokensOut": cached * tokens_out,
        "cachedRequests": cached,
        "erroredRequests": failed + blocked,
    }


def split(c: Cell, parts: int) -> list[Cell]:
    """An hour's figures spread evenly over `parts` minutes (sums kept exactly)."""
    out: list[Cell] = [{} for _ in range(parts)]
    for name in FIGURES:
        if name == "cost":
            share = (c["cost"] / parts).quantize(MICRO, ROUND_DOWN)
            for n, row in enumerate(out):
                row["cost"] = share if n < parts - 1 else c["cost"] - share * (parts - 1)
        else:
            q, r = divmod(c[name], parts)
            for n, row in enumerate(out):
                row[name] = q + (1 if n < r else 0)
    return out


def _bounds(filters: dict[str, Any], kind: str) -> Bounds:
    """The inclusive range the time filters of one kind (hour, minute, day) allow for a row's instant."""
    lo, hi = float("-inf"), float("inf")
    for prefix, k in TIME_FIELDS.items():
        if k != kind:
            continue
        for suffix, value in ((s, filters.get(prefix + s)) for s in ("", "_geq", "_gt", "_leq", "_lt")):
            if value is None:
                continue
            if suffix in ("", "_geq", "_gt"):
                lo = max(lo, value + (1 if suffix == "_gt" else 0))
            if suffix in ("", "_leq", "_lt"):
                hi = min(hi, value - (1 if suffix == "_lt" else 0))
    return lo, hi


def _slice_ok(s: Slice, filters: dict[str, Any]) -> bool:
    for name in SLICE_FIELDS:
        value = getattr(s, name)
        if name in filters and filters[name] is not None and value != filters[name]:
            return False
        if filters.get(name + "_neq") is not None and value == filters[name + "_neq"]:
            return False
        if filters.get(name + "_in") is not None and value not in filters[name + "_in"]:
            return False
        if filters.get(name + "_notin") is not None and value in filters[name + "_notin"]:
            return False
    return True


def _hour_range(account: Account, hours: Bounds, days: Bounds, minutes: Bounds) -> range:
    first = account.usage_start_hour
    last = (account.accrued_until_ms - 1) // HOUR_MS
    lo = max(first, -(-hours[0] // HOUR_MS), -(-days[0] // DAY_MS) * 24, minutes[0] // HOUR_MS)
    hi = min(last, hours[1] // HOUR_MS, (days[1] // DAY_MS) * 24 + 23, minutes[1] // HOUR_MS)
    return range(int(lo), int(hi) + 1) if lo <= hi else range(0)


def base_rows(account: Account, q: Query) -> list[tuple[Slice, int, int, Cell]]:
    """(slice, hour start ms, row instant ms, figures) for every row the filters let through."""
    minutes_wanted = "datetimeMinute" in q.dimensions
    minute_lo, minute_hi = _bounds(q.filters, "minute")
    hours = _hour_range(
        account, _bounds(q.filters, "hour"), _bounds(q.filters, "day"), (minute_lo, minute_hi)
    )
    if minutes_wanted and len(hours) > MAX_MINUTE_HOURS:
        raise QueryError("datetimeMinute: minute groups cover at most 7 days; narrow the datetime filter")
    slices = [s for s in account.traffic.slices if _slice_ok(s, q.filters)]
    rows = []
    for hour in hours:
        hs = hour * HOUR_MS
        active = min(60, max(1, -(-(account.accrued_until_ms - hs) // MINUTE_MS)))
        m_from = max(0, int(-(-(minute_lo - hs) // MINUTE_MS))) if minute_lo > hs else 0
        m_to = min(active - 1, int((minute_hi - hs) // MINUTE_MS)) if minute_hi < hs + HOUR_MS else active - 1
        if m_from > m_to:
            continue
        whole = m_from == 0 and m_to == active - 1 and not minutes_wanted
        index = hour - account.usage_start_hour
        for s in slices:
            if index >= len(s.cost) or not (s.cost[index] or s.blocked[index]):
                continue
            figures = cell(s, hour, s.cost[index], s.blocked[index])
            if whole:
                rows.append((s, hs, hs, figures))
                continue
            parts = split(figures, active)
            rows.extend((s, hs, hs + m * MINUTE_MS, parts[m]) for m in range(m_from, m_to + 1))
    return rows


def _dimension(s: Slice, hour_ms: int, at_ms: int, name: str) -> Any:
    if name in SLICE_FIELDS:
        return getattr(s, name)
    return {"datetimeHour": hour_ms, "datetimeMinute": at_ms, "date": hour_ms // DAY_MS * DAY_MS}[name]


def groups(account: Account, q: Query) -> list[dict[str, Any]]:
    """The dataset's answer: one group per distinct value of the requested dimensions, sums over the rest."""
    keyed: dict[tuple[Any, ...], Cell] = {}
    for s, hour_ms, at_ms, figures in base_rows(account, q):
        key = tuple(_dimension(s, hour_ms, at_ms, d) for d in q.dimensions)
        total = keyed.get(key)
        if total is None:
            keyed[key] = dict(figures)
        else:
            for name in FIGURES:
                total[name] += figures[name]
    out = [
        {
            "count": figures["count"],
            "sum": {name: figures[name] for name in SUMS},
            "dimensions": dict(zip(q.dimensions, key, strict=True)),
        }
        for key, figures in keyed.items()
    ]
    return _ordered(out, q)[: q.limit]


def _sort_key(name: str, q: Query) -> Any:
    if name == "count":
        return lambda g: g["count"]
    if name.startswith("sum_") and name[4:] in SUMS:
        return lambda g: g["sum"][name[4:]]
    if name in DIMENSIONS:
        if name not in q.dimensions:
            raise QueryError(f"orderBy: {name} is not among the requested dimensions")
        return lambda g: g["dimensions"][name]
    raise QueryError(f"orderBy: cannot order by {name}")


def _ordered(out: list[dict[str, Any]], q: Query) -> list[dict[str, Any]]:
    order = list(q.order_by) or [f"{d}_ASC" for d in q.dimensions]
    for item in reversed(order):
        name, _, direction = item.rpartition("_")
        out.sort(key=_sort_key(name, q), reverse=direction == "DESC")
    return out
