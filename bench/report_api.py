"""The API's part of docs/benchmarks.md: its targets (p95 ≤ 100 ms at 200 accounts, queries equal at 10 and
200 accounts) and its tables, from bench/api.py's figures."""

from __future__ import annotations

from bench.report_format import Measure
from bench.report_format import ms as _ms
from bench.report_format import table as _table

TARGET_MS = 100


def api_p95(r: dict) -> tuple[str, bool | None]:
    """The slowest endpoint's p95 against the target."""
    figures = (r.get("api") or {}).get("in_process")
    if not figures:
        return "not run", None
    name, slowest = max(figures.items(), key=lambda item: item[1]["p95_ms"])
    return f"{_ms(slowest['p95_ms'])} ms ({name}, the slowest)", slowest["p95_ms"] <= TARGET_MS


def api_queries_equal(r: dict) -> tuple[str, bool | None]:
    counts = (r.get("api") or {}).get("queries")
    if not counts:
        return "not run", None
    unequal = [name for name, c in counts.items() if not c["equal"]]
    return ("equal on every endpoint" if not unequal else "differ: " + ", ".join(unequal)), not unequal


TARGETS: list[tuple[str, str, Measure]] = [
    ("API endpoints p95, 200 accounts", "≤ 100 ms", api_p95),
    ("API SQL queries, 10 vs 200 accounts", "equal", api_queries_equal),
]


def api_section(api: dict) -> list[str]:
    counts = api["queries"]
    rows = [
        [
            name,
            f"`{f['path']}`",
            _ms(f["p50_ms"]),
            _ms(f["p95_ms"]),
            counts[name]["admin of 10"],
            counts[name]["admin of 200"],
            "yes" if counts[name]["equal"] else "**no**",
        ]
        for name, f in api["in_process"].items()
    ]
    header = ["Endpoint", "Path", "p50 ms", "p95 ms", "Queries, admin of 10", "Admin of 200", "Equal"]
    return [
        "### API endpoints in-process (token of the admin of 200 accounts)",
        "",
        "Each request includes the token check, the rate-limit count and the last-use update (4 queries).",
        "",
        *_table(header, rows),
    ]
