"""Fields shared by the forms: a dollar amount typed by a person, cleaned to integer cents within bounds;
whole numbers, decimals and dates; and the one rule every number typed into the portal follows: digits are
0 to 9. Python's int() and Decimal() read Arabic-Indic ("١٠٠"), full-width ("２０") and other digits as
numbers without a word, so "١٠٠" would quietly become a $100 rule: here they are refused, naming the field.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django import forms

from billing.limits import MAX_DOLLAR_DIGITS
from billing.money import cents_to_dollars, dollars_to_cents, format_money

_DOLLARS = re.compile(r"^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.([0-9]*))?$")
_ASCII_DIGITS = frozenset("0123456789")
# Longer whole numbers than any count or amount the portal takes (int() of a huge text is slow).
MAX_NUMBER_CHARS = 40


def refuse_other_digits(text: str, label: str) -> None:
    """Raises ValidationError naming the field when `text` holds a digit other than 0-9 ("١٠٠", "²")."""
    if any(not ch.isascii() and (ch.isdigit() or ch.isnumeric()) for ch in text):
        raise forms.ValidationError(
            f"{label}: type the number with the digits 0 to 9.", code="digits", params={"label": label}
        )


def whole_number(text: str | None) -> int | None:
    """A query parameter read as a whole number: only the digits 0 to 9 (and not absurdly many), else None."""
    if not text or len(text) > MAX_NUMBER_CHARS or not set(text) <= _ASCII_DIGITS:
        return None
    return int(text)


FieldT = TypeVar("FieldT", bound=forms.Field)


def field_of(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """The form's field `name` as the class it is declared with (`form.fields` holds any Field); raises
    TypeError when it is another."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}, not a {kind.__name__}")
    return field


def show_unit(field: forms.Field, sign: str = "", *, money: bool = False) -> None:
    """What a form's template shows beside `field`: "$" before a money amount (`field.money`), else the
    unit's sign after it (`field.unit_sign`). Kept on the field instance, whichever Django field it is."""
    vars(field).update(unit_sign=sign, money=money)


class DollarsField(forms.CharField):
    """A dollar amount typed by a person ("25", "25.50", "$1,250"); cleans to integer cents within bounds."""

    def __init__(
        self, *, min_cents: int, max_cents: int | None = None, invalid_message: str = "", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.min_cents = min_cents
        self.max_cents = max_cents
        self.invalid_message = invalid_message
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off", "maxlength": "40"})

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # typed text cleaned to cents
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        name = self.label or "Amount"
        refuse_other_digits(text, str(name))
        text = text.replace(" ", "").replace("\u00a0", "")
        negative = text.startswith("-") or text.startswith("$-")
        text = text.lstrip("-").lstrip("$").lstrip("-")
        match = _DOLLARS.match(text)
        if not text or text == "." or not match:
            message = self.invalid_message or f"{name} must be a number of dollars, like 25 or 25.50."
            raise forms.ValidationError(message, code="invalid")
        if negative and text.strip("0.,"):
            raise forms.ValidationError(f"{name} cannot be negative.", code="negative")
        whole, _, fraction = text.replace(",", "").partition(".")
        if len(fraction) > 2:
            raise forms.ValidationError(
                f"{name} can have at most 2 decimal places (whole cents).", code="decimal_places"
            )
        if len(whole.lstrip("0")) > MAX_DOLLAR_DIGITS:
            raise forms.ValidationError(f"{name} is far too large.", code="too_large")
        return dollars_to_cents(Decimal(f"{whole or '0'}.{fraction or '0'}"))

    def validate(self, value: int | None) -> None:
        super().validate(value)
        if value is None:
            return
        name = self.label or "Amount"
        if value < self.min_cents:
            raise forms.ValidationError(
                f"{name} must be at least {format_money(cents_to_dollars(self.min_cents))}.", code="min"
            )
        if self.max_cents is not None and value > self.max_cents:
            raise forms.ValidationError(
                f"{name} must be at most {format_money(cents_to_dollars(self.max_cents))}.", code="max"
            )

    def prepare_value(self, value: object) -> object:
        # A bound form shows back what was typed; an initial value in cents is shown as dollars.
        if isinstance(value, int):
            return f"{cents_to_dollars(value):.2f}"
        return value


class WholeNumberField(forms.IntegerField):
    """A whole number typed with the digits 0 to 9 only."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            refuse_other_digits(value, str(self.label or "This number"))
            if len(value.strip()) > MAX_NUMBER_CHARS:
                raise forms.ValidationError(
                    f"{self.label or 'This number'} is far too large.", code="too_large"
                )
        return super().to_python(value)


class NumberField(forms.DecimalField):
    """A decimal number typed with the digits 0 to 9 only."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # stubs: IntegerField's
        if isinstance(value, str):
            refuse_other_digits(value, str(self.label or "This number"))
        return super().to_python(value)


class DayField(forms.DateField):
    """A date (YYYY-MM-DD) typed with the digits 0 to 9 only."""

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, str):
            refuse_other_digits(value, str(self.label or "This date"))
        return super().to_python(value)
