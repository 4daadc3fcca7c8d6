"""Where a page of the benchmark spends its time: the query log and a pyinstrument profile of one page, saved
for every page over its target (`bench/pages.py --profile` saves them for all)."""

from __future__ import annotations

from pathlib import Path

from bench.common import VAR


def _client_and_get():
    from bench.pages import _client, _get  # bench.pages imports this module: read at call time

    return _client, _get


def dump_queries(page: dict, path: Path) -> None:
    """The query log of one request: every statement with its time, slowest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _client, _get = _client_and_get()
    client = _client("bench-super")
    _get(client, page["path"])
    with CaptureQueriesContext(connection) as captured:
        _get(client, page["path"])
    ordered = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
    lines = [f"# {page['name']}: {page['path']} ({len(ordered)} queries)"]
    lines += [f"{float(q['time']) * 1000:8.1f} ms  {q['sql']}" for q in ordered]
    path.write_text("\n".join(lines) + "\n")


def profile_page(page: dict, path: Path, repeat: int = 10) -> None:
    """A pyinstrument profile of `repeat` requests of the page, as text."""
    from pyinstrument import Profiler

    _client, _get = _client_and_get()
    client = _client("bench-super")
    _get(client, page["path"])
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(repeat):
        _get(client, page["path"])
    profiler.stop()
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))


def profile_pages(pages: list[dict], in_process_figures: dict, database: str, every_page: bool) -> dict:
    """Query log and profile of every page over its target (or of all pages); returns their paths by page."""
    profiles = VAR / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    saved = {}
    for page in pages:
        measured = in_process_figures[page["name"]]
        if every_page or (page["target_ms"] and measured["p95_ms"] > page["target_ms"]):
            stem = f"{database}-{page['name'].replace(' ', '-')}"
            dump_queries(page, profiles / f"{stem}-queries.txt")
            profile_page(page, profiles / f"{stem}-profile.txt")
            saved[page["name"]] = [
                f"var/bench/profiles/{stem}-queries.txt",
                f"var/bench/profiles/{stem}-profile.txt",
            ]
    return saved
