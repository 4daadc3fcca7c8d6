"""Streaming a CSV, a block of rows at a time, each line through the portal's one CSV writer
(`billing/csv_cells.py`: quoting, one line ending, formula cells neutralised)."""

from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

from billing import csv_cells

BLOCK = 500


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    yield csv_cells.line(header)
    block: list[str] = []
    for row in rows:
        block.append(csv_cells.line(row))  # type: ignore[arg-type]  # any cell reads as its text
        if len(block) == BLOCK:
            yield "".join(block)
            block.clear()
    yield "".join(block)


def csv_response(
    filename: str, header: Iterable[str], rows: Iterable[Iterable[object]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
