"""Streaming a CSV through Python's `csv` writer (quoting, one line ending), a block of rows at a time."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

BLOCK = 500


class _Lines:
    """A file-like object that hands back what the writer writes."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Lines())
    yield writer.writerow(header)
    block: list[str] = []
    for row in rows:
        block.append(writer.writerow(row))
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
