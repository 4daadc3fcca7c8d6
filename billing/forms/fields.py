"""Fields shared by the forms: a dollar amount typed by a person, cleaned to integer cents within bounds."""

import re
from decimal import Decimal

from django import forms

from billing.limits import MAX_DOLLAR_DIGITS
from billing.money import cents_to_dollars, dollars_to_cents, format_money

_DOLLARS = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?$")


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

    def to_python(self, value) -> int | None:
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        name = self.label or "Amount"
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

    def validate(self, value) -> None:
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

    def prepare_value(self, value):
        # A bound form shows back what was typed; an initial value in cents is shown as dollars.
        if isinstance(value, int):
            return f"{cents_to_dollars(value):.2f}"
        return value
