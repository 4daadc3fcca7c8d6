"""The FOCUS export and totals section of docs/benchmarks.md (bench/focus_export.py's figures)."""

from __future__ import annotations

from bench.report_format import table

EXPORT_SECONDS = 15
EXPORT_RSS_MB = 50


def focus_section(focus: dict | None) -> list[str]:
    if not focus:
        return []
    rows = []
    for label, key in (
        ("all accounts", "export_all"),
        ("all, again", "export_all_again"),
        ("one", "export_one"),
    ):
        run = focus[key]
        ok = run["seconds"] <= EXPORT_SECONDS and run["rss_growth_mb"] <= EXPORT_RSS_MB
        rows.append(
            [
                label,
                f"{run['rows']:,}",
                f"{run['mb']} MB",
                f"{run['seconds']} s",
                f"{run['rss_growth_mb']} MB",
                "yes" if ok else "**no**",
            ]
        )
    queries = [
        [
            name,
            str(counts["10"]),
            str(counts[str(focus["accounts"])]),
            "yes" if len(set(counts.values())) == 1 else "**no**",
        ]
        for name, counts in focus["queries"].items()
    ]
    share = 100 * focus["totals_ms"] / focus["overview_p95_ms"] if focus["overview_p95_ms"] else 0
    return [
        "## FOCUS export and totals (issue 21)",
        "",
        f"`bench/focus_export.py` on SQLite, in-process: {focus['accounts']} accounts × {focus['days']} "
        "days, 12 analytics rows per account and day, one paid top-up each. Targets: the export streams in "
        f"≤ {EXPORT_SECONDS} s with peak RSS growth ≤ {EXPORT_RSS_MB} MB whatever the row count; the "
        "overview's p95 with totals within 10 % of before; queries per page equal at 10 and all accounts; "
        "0 API calls.",
        "",
        *table(["export of", "rows", "size", "time", "peak RSS growth", "target met"], rows),
        "",
        f"Overview p95 with the totals: {focus['overview_p95_ms']} ms, of which the totals (sum and panel) "
        f"take {focus['totals_ms']} ms ({share:.1f} %). API calls made by these views: {focus['api_calls']}.",
        "",
        *table(["page", "queries, 10 accounts", f"queries, {focus['accounts']}", "equal"], queries),
        "",
    ]
