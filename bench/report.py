"""Turns the benchmark's JSON results into docs/benchmarks.md (Markdown tables, targets against figures)."""

from __future__ import annotations

from pathlib import Path

from bench.common import ROOT
from bench.report_api import TARGETS as API_TARGETS
from bench.report_api import api_section
from bench.report_focus import focus_section
from bench.report_format import Measure
from bench.report_format import ms as _ms
from bench.report_format import table as _table
from bench.report_format import verdict as _verdict
from bench.report_sweep import celery_rss, hour_section, request_budget, sweep_section, sweep_wall

NOTES = ROOT / "bench" / "notes.md"
DB_LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
TEN_ACCOUNTS = " (10 accounts)"
# Pages with the 100 ms target, in the order of the targets table.
ACCOUNT_PAGES = [
    "account",
    "usage day 30 d",
    "usage day 365 d",
    "usage hour 30 d",
    "usage hour 365 d",
    "CSV day 365 d",
    "CSV hour 365 d",
    "invoices",
    "gateways",
    "breakdown 7 d",
    "breakdown 90 d",
    "breakdown CSV 30 d",
    "ledger 13 months",
    "ledger CSV",
    "ledger print",
]


# Pages with issue 21's 150 ms target.
PERIOD_PAGES = ["reconciliation", "statement"]


# --- targets ------------------------------------------------------------------------------------------------
def _page_p95(name: str, limit: float) -> Measure:
    def measure(r: dict) -> tuple[str, bool | None]:
        figures = (r.get("pages") or {}).get("in_process", {}).get(name)
        if not figures:
            return "not run", None
        http = (r["pages"].get("gunicorn") or {}).get("levels", {})
        low = min(http, key=int) if http else None
        extra = f" (gunicorn {http[low]['pages'][name]['p95_ms']:.0f})" if low else ""
        return f"{_ms(figures['p95_ms'])} ms{extra}", figures["p95_ms"] <= limit

    return measure


def _people_p95(r: dict) -> tuple[str, bool | None]:
    people = r.get("people")
    if not people:
        return "not run", None
    worst = max(figures["p95_ms"] for figures in people["pages"].values())
    return f"{_ms(worst)} ms", worst <= people["target_ms"]


def _api_calls(r: dict) -> tuple[str, bool | None]:
    calls = (r.get("pages") or {}).get("api_calls")
    if not calls:
        return "not run", None
    return f"{calls['calls']} in {calls['page_views']} views", calls["calls"] == 0


def _queries_equal(r: dict) -> tuple[str, bool | None]:
    counts = (r.get("pages") or {}).get("queries")
    if not counts:
        return "not run", None
    unequal = [name for name, c in counts.items() if not c["equal"]]
    return ("equal on every page" if not unequal else "differ: " + ", ".join(unequal)), not unequal


def _web_rss(r: dict) -> tuple[str, bool | None]:
    rss = ((r.get("pages") or {}).get("gunicorn") or {}).get("worker_peak_rss_mb")
    if not rss:
        return "not run", None
    return f"{max(rss):.0f} MB", max(rss) < 150


def _target_measures() -> list[tuple[str, str, Measure]]:
    """(label, target of the issue, measure) of every row of the targets table, in order."""
    rows = [("Overview p95, 200 accounts", "≤ 50 ms", _page_p95("overview", 50))]
    rows += [
        (f"{name.capitalize()} p95, 200 accounts", "≤ 150 ms", _page_p95(name, 150)) for name in PERIOD_PAGES
    ]
    rows += [
        (f"{name.capitalize() if name[0].islower() else name} p95", "≤ 100 ms", _page_p95(name, 100))
        for name in ACCOUNT_PAGES
    ]
    return [
        *rows,
        ("People page p95, 500 people", "≤ 100 ms", _people_p95),
        *API_TARGETS,
        ("API calls per page view", "0", _api_calls),
        ("SQL queries, 10 vs 200 accounts", "equal", _queries_equal),
        ("Sweep of 1,000 accounts at 100 ms, 4 workers", "< 30 s", sweep_wall(4)),
        ("Requests per token", "≤ 1,200 / 5 min, no 429", request_budget),
        ("Web worker peak RSS", "< 150 MB", _web_rss),
        ("Celery worker peak RSS", "(no target)", celery_rss),
    ]


def _target_row(results: dict, label: str, target: str, measure: Measure) -> list[str]:
    cells, oks = [], []
    for r in results["databases"].values():
        text, ok = measure(r)
        cells.append(text)
        oks.append(ok)
    known = [ok for ok in oks if ok is not None]
    return [label, target, *cells, _verdict(all(known) if known else None)]


def _targets(results: dict) -> list[str]:
    rows = [_target_row(results, *row) for row in _target_measures()]
    return _table(["Target", "Issue", *(f"{DB_LABEL[d]}" for d in results["databases"]), "Verdict"], rows)


# --- run and targets sections -------------------------------------------------------------------------------
def _run_section(results: dict) -> list[str]:
    m = results["machine"]
    commit = f"`{results['commit']}`" + (" (with uncommitted changes)" if results["dirty"] else "")
    rows = [
        ["Date (UTC)", results["date"]],
        ["Git commit", commit],
        ["Command", f"`{results['command']}`"],
        ["Machine", f"{m['cores']} cores, {m['memory_gb']} GB memory, {m['cpu']}"],
        ["System", f"{m['system']}; Python {m['python']}; Django {m['django']}"],
        ["Databases", "; ".join(f"{DB_LABEL[k]} {v}" for k, v in m["database_versions"].items())],
        ["Redis", m["redis"]],
        ["Load average (1 min) at start / end", f"{m['load_start']} / {results.get('load_end', '–')}"],
        ["Total time", f"{results['total_seconds'] / 60:.1f} min"],
    ]
    return [
        "## Run",
        "",
        *_table(["", ""], rows),
        "Settings as in production: `DJANGO_DEBUG=false`, Redis cache and broker (database 9 of the local "
        "Redis), gunicorn sync workers, `CONN_MAX_AGE` 60 s on PostgreSQL (0 on SQLite, as "
        "`portal/settings.py` forces). "
        "Everything runs on the one machine, clients included, so server and clients share its cores.",
        "",
    ]


def _targets_section(results: dict) -> list[str]:
    return [
        "## Targets",
        "",
        "Page latency verdicts use the in-process p95 (Django test client, one request at a time, "
        "superuser who sees every account); the gunicorn p95 in brackets is with as many concurrent clients "
        "as workers (2).",
        "",
        *_targets(results),
    ]


# --- one database's sections --------------------------------------------------------------------------------
def _seed_section(seed: dict) -> list[str]:
    counts = seed["counts"]
    return [
        f"### Seed: {seed['accounts']} accounts in {seed['seed_seconds']:.0f} s "
        f"(+ {seed['migrate_seconds']:.0f} s migrate)",
        "",
        *_table(["Table", "Rows"], [[n.replace("_", " "), f"{c:,}"] for n, c in counts.items()]),
        *_table(["Step", "Seconds"], [[step, f"{sec:.1f}"] for step, sec in seed["timings"].items()]),
    ]


def _in_process_row(name: str, f: dict, pages: dict) -> list[str]:
    q = pages["queries"].get(name.replace(TEN_ACCOUNTS, ""), {})
    ten = TEN_ACCOUNTS in name
    return [
        name,
        f"`{f['path'][:70]}`",
        _ms(f["p50_ms"]),
        _ms(f["p95_ms"]),
        _ms(f["max_ms"]),
        f"{f['bytes'] / 1024:.0f} KB",
        q.get("admin of 10" if ten else "superuser (200)", "–"),
        _ms(q.get("admin of 10 sql ms" if ten else "superuser (200) sql ms")),
        f"≤ {f['target_ms']}" if f["target_ms"] else "–",
    ]


def _in_process_section(pages: dict) -> list[str]:
    rows = [_in_process_row(name, f, pages) for name, f in pages["in_process"].items()]
    header = ["Page", "Path", "p50 ms", "p95 ms", "max ms", "Size", "SQL queries", "SQL ms", "Target ms"]
    return [
        "### Pages in-process",
        "",
        *_table(header, rows),
        f"Up to {max(f['samples'] for f in pages['in_process'].values())} timed requests per page "
        "after warm-up (a page stops after 20 s once it has 10). The hour pages show the whole "
        "range asked for: the chart sums the hours into at most 400 bars in SQL (2 hours each over "
        "30 days, 24 over 365), the table shows one page of 168 hours, the CSV streams every hour.",
        "",
    ]


def _summaries_note(summaries: dict | None) -> list[str]:
    if not summaries:
        return []
    return [
        f"Stored figures (`AccountSummary`) of all {summaries['accounts']} accounts computed "
        f"and written in {summaries['all_at_once_ms']:.0f} ms at once; "
        f"per account as sync does it: {summaries['one_account_ms']:.1f} ms in full (after a "
        "usage or spending-limit sync), "
        f"{summaries.get('balance_only_ms', float('nan')):.1f} ms for the balance part (after a "
        "balance sync).",
        "",
    ]


def _queries_section(queries: dict) -> list[str]:
    rows = [
        [n, c["admin of 10"], c["admin of 200"], c["superuser (200)"], "yes" if c["equal"] else "**no**"]
        for n, c in queries.items()
    ]
    return [
        "### SQL queries per page: 10 accounts against 200",
        "",
        *_table(["Page", "Admin of 10", "Admin of 200", "Superuser (200)", "Equal (10 vs 200)"], rows),
    ]


def _gunicorn_section(pages: dict) -> list[str]:
    http = pages["gunicorn"]
    levels = list(http["levels"].values())
    header = ["Page"] + [f"{lv['clients']} clients p50 / p95 ms" for lv in levels]
    rows = [
        [name] + [f"{_ms(lv['pages'][name]['p50_ms'])} / {_ms(lv['pages'][name]['p95_ms'])}" for lv in levels]
        for name in levels[0]["pages"]
    ]
    rows.append(
        ["**Throughput**"]
        + [
            f"{lv['requests_per_s']} req/s ({lv['requests']} requests, {lv['error_count']} errors)"
            for lv in levels
        ]
    )
    return [
        f"### Through gunicorn ({http['workers']} sync workers), concurrent clients",
        "",
        *_table(header, rows),
        "Web worker peak RSS (VmHWM): "
        f"{', '.join(f'{x:.0f} MB' for x in http['worker_peak_rss_mb'])}; "
        f"gunicorn master {http['master_peak_rss_mb']:.0f} MB. API calls during "
        f"{pages['api_calls']['page_views']} page views: {pages['api_calls']['calls']}.",
        "",
    ]


def _profiles_note(profiles: dict | None) -> list[str]:
    if not profiles:
        return []
    return [
        "Profiles and query logs of the pages over target (not committed): "
        + "; ".join(f"{name}: `{files[0]}`, `{files[1]}`" for name, files in profiles.items()),
        "",
    ]


def _pages_sections(pages: dict) -> list[str]:
    return [
        *_in_process_section(pages),
        *_summaries_note(pages.get("summaries")),
        *_queries_section(pages["queries"]),
        *_gunicorn_section(pages),
        *_profiles_note(pages.get("profiles")),
    ]


def _before_after(meta: dict, before: dict, pages: dict) -> list[str]:
    """In-process figures of an earlier run (bench/baseline.json) beside this run's."""
    head = [
        f"### Before and after (before: run of {meta['date']} UTC at `{meta['commit']}`, "
        f"load {meta.get('load_start', '–')} / {meta.get('load_end', '–')})",
        "",
    ]
    rows = []
    for name, f in pages["in_process"].items():
        g = before["in_process"].get(name)
        q = pages["queries"].get(name.replace(TEN_ACCOUNTS, ""), {})
        qb = before.get("queries", {}).get(name.replace(TEN_ACCOUNTS, ""), {})
        who = "admin of 10" if TEN_ACCOUNTS in name else "superuser (200)"
        if g:
            rows.append(
                [
                    name,
                    _ms(g["p50_ms"]),
                    _ms(g["p95_ms"]),
                    _ms(f["p50_ms"]),
                    _ms(f["p95_ms"]),
                    f"{qb.get(who, '–')} → {q.get(who, '–')}",
                    f"{g['bytes'] / 1024:.0f} → {f['bytes'] / 1024:.0f} KB",
                ]
            )
    return head + _table(
        ["Page", "Before p50", "Before p95", "After p50", "After p95", "SQL queries", "Size"], rows
    )


def _people_section(people: dict) -> list[str]:
    rows = [
        [
            who,
            _ms(f["p50_ms"]),
            _ms(f["p95_ms"]),
            _ms(f["max_ms"]),
            f"{_ms(f.get('cpu_p50_ms'))} / {_ms(f.get('cpu_p95_ms'))}",
            f"{f['bytes'] / 1024:.0f} KB",
        ]
        for who, f in people["pages"].items()
    ]
    queries = [[who, *(str(n) for n in counts.values())] for who, counts in people["queries"].items()]
    return [
        f"### People page: {people['people']} people on {people['accounts']} accounts (bench/people.py)",
        "",
        *_table(["Signed in as", "p50 ms", "p95 ms", "max ms", "CPU p50 / p95 ms", "Size"], rows),
        *_table(["SQL queries", *next(iter(people["queries"].values())).keys()], queries),
    ]


def _database_section(results: dict, db: str) -> list[str]:
    r = results["databases"][db]
    lines = [f"## {DB_LABEL[db]}", ""]
    if r.get("seed"):
        lines += _seed_section(r["seed"])
    pages = r.get("pages")
    if pages:
        lines += _pages_sections(pages)
    before = ((results.get("before") or {}).get("databases") or {}).get(db)
    if pages and before:
        lines += _before_after(results["before"], before, pages)
    if r.get("people"):
        lines += _people_section(r["people"])
    if r.get("api"):
        lines += api_section(r["api"])
    if r.get("sweep"):
        lines += sweep_section(r["sweep"])
        if r["sweep"].get("hour"):
            lines += hour_section(r["sweep"]["hour"])
    return lines


def _analysis_section() -> list[str]:
    if not NOTES.exists():
        return []
    return ["## Analysis", "", NOTES.read_text().strip(), ""]


def render(results: dict) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run.py`); do not edit by hand — the analysis at the end comes "
        "from `bench/notes.md`. The benchmark is never part of the test suite.",
        "",
        *_run_section(results),
        *_targets_section(results),
    ]
    for db in results["databases"]:
        lines += _database_section(results, db)
    lines += focus_section(results.get("focus"))
    lines += _analysis_section()
    return "\n".join(lines).rstrip() + "\n"


def write(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results))
