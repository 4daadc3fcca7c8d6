"""Typed reads from the JSON Cloudflare sends, each failure an InvalidResponseError naming the field's path.

Numbers arrive as ``int`` or exact ``Decimal`` (see the client's JSON decoding); nothing here converts units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, NoReturn, TypeVar, overload

from billing.cloudflare.errors import InvalidResponseError

__all__ = ["Fields", "as_int", "moment", "nothing", "number", "string", "strings"]

# Values this large are not money any account can hold; refusing them keeps later quantize() calls safe.
_MAX_DIGITS = 18
_MAX_INT = 10**18

_MISSING = object()
_T = TypeVar("_T")


def _bad(where: str, problem: str) -> NoReturn:
    raise InvalidResponseError(f"Cloudflare's answer has {problem} at {where}", field=where)


def _get(obj: Mapping[str, Any], where: str, *names: str, required: bool) -> tuple[Any, str]:
    """The first present, non-null value among ``names`` (wire spellings), with its path for messages."""
    prefix = f"{where}." if where else ""
    for name in names:
        value = obj.get(name, _MISSING)
        if value is not _MISSING and value is not None:
            return value, f"{prefix}{name}"
    path = f"{prefix}{names[0]}"
    if required:
        _bad(path, "a missing required field")
    return None, path


def number(value: Any, where: str) -> Decimal:
    """``value`` as a Decimal; raises InvalidResponseError unless it is a JSON number of sane size."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        _bad(where, f"a {type(value).__name__} where a number belongs")
    result = value if isinstance(value, Decimal) else Decimal(value)
    # adjusted() needs no decimal context, so a wild exponent cannot trap here.
    if not result.is_finite() or (result and result.adjusted() >= _MAX_DIGITS):
        _bad(where, "a number out of range")
    return result


def _integer(value: Any, where: str) -> int:
    result = as_int(value)
    if result is None:
        _bad(where, f"a {type(value).__name__} where an integer belongs")
    return result


def as_int(value: object) -> int | None:
    """``value`` as an int when it is an integral JSON number of sane size (1000.0 counts), else None."""
    if isinstance(value, Decimal):
        if (
            not value.is_finite()
            or (value and value.adjusted() >= _MAX_DIGITS)
            or value != value.to_integral_value()
        ):
            return None
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _MAX_INT:
        return None
    return value


def string(value: Any, where: str) -> str:
    """``value`` itself; raises InvalidResponseError unless it is a string."""
    if not isinstance(value, str):
        _bad(where, f"a {type(value).__name__} where a string belongs")
    return value


def moment(value: Any, where: str) -> datetime:
    """An ISO 8601 time as an aware datetime (UTC when no offset is written); raises InvalidResponseError
    unless it is a string in that form."""
    try:
        when = datetime.fromisoformat(string(value, where))
    except ValueError:
        _bad(where, "a string that is not an ISO 8601 time")
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def strings(value: Any, where: str) -> tuple[str, ...]:
    """A JSON list of strings as a tuple; raises InvalidResponseError for anything else."""
    return tuple(string(item, f"{where}[{i}]") for i, item in enumerate(_list(value, where)))


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        _bad(where, f"a {type(value).__name__} where true/false belongs")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _bad(where, f"a {type(value).__name__} where an object belongs")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        _bad(where, f"a {type(value).__name__} where a list belongs")
    return value


def nothing(value: Any, where: str) -> None:
    """For operations whose result is ``{}``: any result (or none) is accepted and ignored."""
    return None


class Fields:
    """Typed reads from one JSON object, every error naming the field's path.

    Each read takes the field's wire spellings (first present wins) and returns None for an absent or null
    optional field; raises InvalidResponseError for a missing required field or a value of the wrong type.
    The overloads say so to the type checker: a required read never returns None.
    """

    def __init__(self, value: Any, where: str) -> None:
        self.obj = _object(value, where)
        self.where = where

    def _read(self, convert: Callable[[Any, str], _T], names: tuple[str, ...], required: bool) -> _T | None:
        value, path = _get(self.obj, self.where, *names, required=required)
        return None if value is None else convert(value, path)

    @overload
    def decimal(self, *names: str, required: Literal[True] = True) -> Decimal: ...
    @overload
    def decimal(self, *names: str, required: bool) -> Decimal | None: ...
    def decimal(self, *names: str, required: bool = True) -> Decimal | None:
        return self._read(number, names, required)

    @overload
    def integer(self, *names: str, required: Literal[True] = True) -> int: ...
    @overload
    def integer(self, *names: str, required: bool) -> int | None: ...
    def integer(self, *names: str, required: bool = True) -> int | None:
        return self._read(_integer, names, required)

    @overload
    def text(self, *names: str, required: Literal[True] = True) -> str: ...
    @overload
    def text(self, *names: str, required: bool) -> str | None: ...
    def text(self, *names: str, required: bool = True) -> str | None:
        return self._read(string, names, required)

    @overload
    def flag(self, *names: str, required: Literal[True] = True) -> bool: ...
    @overload
    def flag(self, *names: str, required: bool) -> bool | None: ...
    def flag(self, *names: str, required: bool = True) -> bool | None:
        return self._read(_flag, names, required)

    @overload
    def moment(self, *names: str, required: Literal[True] = True) -> datetime: ...
    @overload
    def moment(self, *names: str, required: bool) -> datetime | None: ...
    def moment(self, *names: str, required: bool = True) -> datetime | None:
        return self._read(moment, names, required)

    @overload
    def object(self, *names: str, required: Literal[True] = True) -> Mapping[str, Any]: ...
    @overload
    def object(self, *names: str, required: bool) -> Mapping[str, Any] | None: ...
    def object(self, *names: str, required: bool = True) -> Mapping[str, Any] | None:
        return self._read(_object, names, required)

    @overload
    def nested(self, parse: Callable[[Any, str], _T], *names: str, required: Literal[True] = True) -> _T: ...
    @overload
    def nested(self, parse: Callable[[Any, str], _T], *names: str, required: bool) -> _T | None: ...
    def nested(self, parse: Callable[[Any, str], _T], *names: str, required: bool = True) -> _T | None:
        return self._read(parse, names, required)

    @overload
    def items(
        self, parse: Callable[[Any, str], _T], *names: str, required: Literal[True] = True
    ) -> tuple[_T, ...]: ...
    @overload
    def items(
        self, parse: Callable[[Any, str], _T], *names: str, required: bool
    ) -> tuple[_T, ...] | None: ...
    def items(
        self, parse: Callable[[Any, str], _T], *names: str, required: bool = True
    ) -> tuple[_T, ...] | None:
        value, path = _get(self.obj, self.where, *names, required=required)
        if value is None:
            return None
        return tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path)))
