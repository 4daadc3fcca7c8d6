"""Forms: validation only. People type dollars; cleaned data carries integer cents. No form calls the API."""

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils import timezone

from billing.limits import (
    AUTO_TOPUP_AMOUNT_MIN_CENTS,
    AUTO_TOPUP_THRESHOLD_MIN_CENTS,
    MAX_DOLLAR_DIGITS,
    SPENDING_LIMIT_MIN_CENTS,
    TOPUP_MIN_CENTS,
    Bounds,
    portal_max_cents,
    spending_limit_max_cents,
)
from billing.models import AuditAction, InvoiceType, LimitDuration, LimitStrategy, UsageWindow
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


class TopUpForm(forms.Form):
    amount = DollarsField(label="Amount", min_cents=TOPUP_MIN_CENTS, help_text="In US dollars.")

    def __init__(self, *args, bounds: Bounds, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].min_cents = bounds.min_cents
        self.fields["amount"].max_cents = bounds.max_cents


class TopUpConfirmForm(forms.Form):
    """The confirmation step: the amount again (as cents) and the one-time key of this intent."""

    amount_cents = forms.IntegerField(widget=forms.HiddenInput)
    intent_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, bounds: Bounds, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bounds = bounds

    def clean_amount_cents(self) -> int:
        cents = self.cleaned_data["amount_cents"]
        if not self.bounds.min_cents <= cents <= self.bounds.max_cents:
            raise forms.ValidationError(
                f"Amount must be between {format_money(cents_to_dollars(self.bounds.min_cents))} and "
                f"{format_money(cents_to_dollars(self.bounds.max_cents))}."
            )
        return cents

    @staticmethod
    def new_intent_key() -> uuid.UUID:
        return uuid.uuid4()


class AutoTopUpForm(forms.Form):
    threshold = DollarsField(
        label="Threshold",
        min_cents=AUTO_TOPUP_THRESHOLD_MIN_CENTS,
        help_text="When the balance falls below this, Cloudflare buys more credit.",
    )
    amount = DollarsField(
        label="Top-up amount",
        min_cents=AUTO_TOPUP_AMOUNT_MIN_CENTS,
        help_text="How much credit each automatic top-up buys.",
    )
    accept_warnings = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, max_cents: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit = max_cents if max_cents is not None else portal_max_cents()
        self.fields["amount"].max_cents = limit
        self.fields["threshold"].max_cents = limit


class SpendingLimitForm(forms.Form):
    amount = DollarsField(
        label="Limit",
        min_cents=SPENDING_LIMIT_MIN_CENTS,
        max_cents=None,
        help_text="Usage stops once spend in the window reaches this.",
    )
    duration = forms.ChoiceField(label="Window", choices=LimitDuration.choices, initial=LimitDuration.MONTHLY)
    strategy = forms.ChoiceField(
        label="Window type",
        choices=LimitStrategy.choices,
        initial=LimitStrategy.FIXED,
        help_text="Fixed: calendar day, week or month. Sliding: the last 24 hours, 7 days or 30 days.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        amount = self.fields["amount"]
        amount.max_cents = spending_limit_max_cents()
        low, high = (format_money(cents_to_dollars(cents)) for cents in (amount.min_cents, amount.max_cents))
        amount.help_text = (
            f"Usage stops once spend in the window reaches this. From {low} (Cloudflare's minimum) "
            f"to {high} (the portal's maximum)."
        )

    def fingerprint(self) -> str:
        """What a confirmation after the warnings is of ("cents:duration:strategy"): a confirmation posted
        with other values does not count, so changed values are asked about again."""
        data = self.cleaned_data
        return f"{data['amount']}:{data['duration']}:{data['strategy']}"


@dataclass(frozen=True)
class UsageRange:
    """The range the usage page shows: window, first and last day (both included), and what was changed from
    the request and why (one sentence each, naming the field)."""

    window: str
    first: date
    last: date
    notices: tuple[str, ...] = ()


class UsageFilterForm(forms.Form):
    """The usage page's range. Bad input is an error beside its field (the page then shows the default range);
    a range the page cannot show whole is shortened, and `resolve()` says so."""

    # The usage page sums hours into wider bars over long ranges, so hours may span a year like days.
    MAX_HOUR_DAYS = 366
    MAX_DAY_DAYS = 366

    window = forms.ChoiceField(
        label="Group by",
        choices=UsageWindow.choices,
        required=False,
        error_messages={"invalid_choice": "Group by must be Day or Hour; “%(value)s” is neither."},
    )
    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "From must be a date like 2026-11-01."},
    )
    end = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "To must be a date like 2026-11-30."},
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("start", f"From ({start:%b %-d, %Y}) must be on or before To ({end:%b %-d, %Y}).")
        return data

    def resolve(self) -> UsageRange:
        """The range to show. Fields with errors fall back to their defaults; a future To date becomes today
        and a range longer than the window allows keeps its last days, each with a notice."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else self._valid_part()
        window = data.get("window") or UsageWindow.DAY
        today = timezone.localdate()
        notices = []
        end = data.get("end") or today
        if end > today:
            notices.append(f"To ({end:%b %-d, %Y}) was in the future; showing up to today.")
            end = today
        span = self.MAX_HOUR_DAYS if window == UsageWindow.HOUR else self.MAX_DAY_DAYS
        default_days = 2 if window == UsageWindow.HOUR else 30
        start = data.get("start") or end - timedelta(days=default_days - 1)
        if start > end:  # only when To was moved back to today
            notices.append(f"From ({start:%b %-d, %Y}) was in the future; showing today only.")
            start = end
        if (end - start).days + 1 > span:
            start = end - timedelta(days=span - 1)
            notices.append(
                f"The range was longer than {span} days, the most the page shows; "
                f"showing the last {span} days, from {start:%b %-d, %Y}."
            )
        return UsageRange(window, start, end, tuple(notices))

    def _valid_part(self) -> dict:
        # The fields that did clean, without the one an error was reported on.
        if not self.is_bound:
            return {}
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    def range(self) -> tuple[str, date, date]:
        """(window, first day, last day) in the portal's time zone, both days included."""
        shown = self.resolve()
        return shown.window, shown.first, shown.last


class InvoiceFilterForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("all", "All"), (InvoiceType.AUTO, "Auto top-up"), (InvoiceType.MANUAL, "Manual")],
        required=False,
    )


class AuditFilterForm(forms.Form):
    account = forms.ModelChoiceField(queryset=None, required=False, empty_label="All accounts")
    person = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(choices=[("", "All actions"), *AuditAction.choices], required=False)

    def __init__(self, *args, accounts, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["account"].to_field_name = "cloudflare_id"
