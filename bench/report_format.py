"""Formatting shared by the report's parts: milliseconds, verdicts, Markdown tables."""

from __future__ import annotations

import math
from collections.abc import Callable

# A measure reads one database's results and returns (cell text, target met or None when it cannot say).
Measure = Callable[[dict], tuple[str, bool | None]]


def ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*out, ""]
