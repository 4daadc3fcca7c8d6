"""The one way the portal writes a CSV line: every CSV it serves (usage, gateway spend, the audit log, any
later one) builds its lines here, so no cell reaches a spreadsheet as a formula.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a single quote in
front (OWASP's rule for CSV injection): a gateway named `=HYPERLINK(…)` reads `'=HYPERLINK(…)` in the
spreadsheet, as text. Numbers stay numbers: a Decimal or an int is written as it is, and so is a text cell
that is exactly a decimal number (`-12.50`, `3`, `-0.000125`), since a spreadsheet reads it as that number
and can execute nothing in it. Cells holding a comma, a quote or a line break are quoted (RFC 4180).
"""

import re
from collections.abc import Iterable
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_NEEDS_QUOTES = re.compile(r'[",\r\n]')

Cell = str | int | Decimal | None


def cell(value: Cell) -> str:
    """One CSV field: a number as it is, text neutralised (a leading quote) when a spreadsheet would read
    it as a formula, and quoted when it holds a separator, a quote or a line break; None is empty."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def line(values: Iterable[Cell]) -> str:
    """A CSV line of `values` (each through `cell`), ended by CRLF."""
    return ",".join(cell(value) for value in values) + "\r\n"
