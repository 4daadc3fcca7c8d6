"""JSON in and out with exact money: numbers are read as Decimal and Decimals are written as JSON numbers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote
from typing import Any


class Raw(str):
    """A pre-rendered JSON fragment, written verbatim (long lists are rendered in one pass for speed)."""

    __slots__ = ()


def decimal_text(value: Decimal) -> str:
    """Return `value` as a JSON number without exponent notation or trailing zeros."""
    return format(value.normalize(), "f")


def dumps(obj: Any) -> str:
    """Serialise dicts, lists, str, int, float, bool, None, Decimal and Raw to compact JSON."""
    out: list[str] = []
    _write(obj, out.append)
    return "".join(out)


def _write(obj: Any, w: Callable[[str], Any]) -> None:
    if obj is None:
        w("null")
    elif obj is True:
        w("true")
    elif obj is False:
        w("false")
    elif isinstance(obj, Raw):
        w(obj)
    elif isinstance(obj, str):
        w(_quote(obj))
    elif isinstance(obj, int):
        w(int.__repr__(obj))
    elif isinstance(obj, Decimal):
        w(decimal_text(obj))
    elif isinstance(obj, float) and math.isfinite(obj):
        w(float.__repr__(obj))  # settings such as speed; money is never a float here
    elif isinstance(obj, dict):
        w("{")
        first = True
        for key, value in obj.items():
            if not first:
                w(",")
            first = False
            w(_quote(str(key)))
            w(":")
            _write(value, w)
        w("}")
    elif isinstance(obj, list | tuple):
        w("[")
        for i, value in enumerate(obj):
            if i:
                w(",")
            _write(value, w)
        w("]")
    else:
        raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def loads(text: str | bytes) -> Any:
    """Parse JSON with every fractional number as Decimal; NaN and Infinity are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
