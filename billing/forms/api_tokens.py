"""A new personal access token: its name, how many days it lives, and optionally fewer accounts."""

from __future__ import annotations

from django import forms
from django.conf import settings

from billing.models import Account
from billing.permissions import Person, accounts_for

DEFAULT_DAYS = 90


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="What it is for, e.g. “finance BI export”."
    )
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        initial=DEFAULT_DAYS,
        error_messages={"invalid": "Days must be a whole number, like 90."},
    )
    accounts = forms.ModelMultipleChoiceField(
        label="Accounts",
        queryset=Account.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every account you can see, now and later. Either way, a token reads only "
        "what you may see at the time of each request.",
    )

    def __init__(self, *args: object, user: Person, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        accounts = self.fields["accounts"]
        assert isinstance(accounts, forms.ModelMultipleChoiceField)
        accounts.queryset = accounts_for(user)
        self.fields["days"].help_text = f"At most {settings.API_TOKEN_MAX_DAYS} days."

    def clean_days(self) -> int:
        days = self.cleaned_data["days"]
        if days > settings.API_TOKEN_MAX_DAYS:
            raise forms.ValidationError(f"A token lives at most {settings.API_TOKEN_MAX_DAYS} days.")
        return days
