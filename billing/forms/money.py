"""Forms of the amounts people send to Cloudflare: a top-up (and its confirmation), auto top-up, the spending
limit. People type dollars; cleaned data carries integer cents. No form calls the API."""

import uuid
from typing import Any

from django import forms

from billing.forms.fields import DollarsField, WholeNumberField, field_of
from billing.limits import (
    AUTO_TOPUP_AMOUNT_MIN_CENTS,
    AUTO_TOPUP_THRESHOLD_MIN_CENTS,
    SPENDING_LIMIT_MIN_CENTS,
    TOPUP_MIN_CENTS,
    Bounds,
    portal_max_cents,
    spending_limit_max_cents,
)
from billing.models import LimitDuration, LimitStrategy
from billing.money import cents_to_dollars, format_money


class TopUpForm(forms.Form):
    amount = DollarsField(label="Amount", min_cents=TOPUP_MIN_CENTS, help_text="In US dollars.")

    def __init__(self, *args: Any, bounds: Bounds, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        amount = field_of(self, "amount", DollarsField)
        amount.min_cents = bounds.min_cents
        amount.max_cents = bounds.max_cents


class TopUpConfirmForm(forms.Form):
    """The confirmation step: the amount again (as cents) and the one-time key of this intent."""

    amount_cents = WholeNumberField(widget=forms.HiddenInput, label="Amount")
    intent_key = forms.UUIDField(widget=forms.HiddenInput)
    # Asked (and audited) only while other top-ups of the account are unsettled.
    checked_unsettled = forms.BooleanField(
        required=False,
        label="I have checked the unsettled top-ups above in Cloudflare and still want to buy more",
    )

    def __init__(self, *args: Any, bounds: Bounds, **kwargs: Any) -> None:
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

    def __init__(self, *args: Any, max_cents: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = max_cents if max_cents is not None else portal_max_cents()
        field_of(self, "amount", DollarsField).max_cents = limit
        field_of(self, "threshold", DollarsField).max_cents = limit


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        amount = field_of(self, "amount", DollarsField)
        amount.max_cents = high_cents = spending_limit_max_cents()
        low, high = (format_money(cents_to_dollars(cents)) for cents in (amount.min_cents, high_cents))
        amount.help_text = (
            f"Usage stops once spend in the window reaches this. From {low} (Cloudflare's minimum) "
            f"to {high} (the portal's maximum)."
        )

    def fingerprint(self) -> str:
        """What a confirmation after the warnings is of ("cents:duration:strategy"): a confirmation posted
        with other values does not count, so changed values are asked about again."""
        data = self.cleaned_data
        return f"{data['amount']}:{data['duration']}:{data['strategy']}"
