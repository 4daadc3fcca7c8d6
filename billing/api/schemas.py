"""What the API's answers are made of: money as a decimal string with its currency, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import overload

from ninja import Schema

from billing.money import decimal_text


class Money(Schema):
    amount: str  # a decimal string: "1204.50", "0.000125"; never a float
    currency: str  # ISO 4217, upper case: "USD"


@overload
def money(amount: Decimal, currency: str = ...) -> Money: ...
@overload
def money(amount: None, currency: str = ...) -> None: ...
@overload
def money(amount: Decimal | None, currency: str = ...) -> Money | None: ...


def money(amount: Decimal | None, currency: str = "usd") -> Money | None:
    if amount is None:
        return None
    return Money(amount=decimal_text(amount), currency=(currency or "usd").upper())


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
@overload
def utc(moment: datetime | None) -> datetime | None: ...


def utc(moment: datetime | None) -> datetime | None:
    """The moment in UTC (written as ISO 8601 with "Z")."""
    return moment.astimezone(UTC) if moment is not None else None


def number(value: Decimal | None) -> str | None:
    """A figure that is not money (days, percent) as a decimal string."""
    return decimal_text(value) if value is not None else None


class Problem(Schema):
    detail: str | list | dict
