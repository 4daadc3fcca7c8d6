"""People: inviting by email, giving or changing a role on an account, and the new person's log-in when
they accept an invitation (validation only)."""

from typing import Any

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm, UsernameField
from django.contrib.auth.models import User
from django.db.models import QuerySet

from billing.forms.fields import field_of
from billing.models import Account, AccountAccess, Role


class AccountForm(forms.Form):
    """One of the admin's accounts (`accounts`), by its Cloudflare id: whose access is removed."""

    account = forms.ModelChoiceField(
        queryset=Account.objects.none(),
        to_field_name="cloudflare_id",
        empty_label=None,
        error_messages={
            "invalid_choice": "Choose one of the accounts you administer.",
            "required": "Choose an account.",
        },
    )

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "account", forms.ModelChoiceField).queryset = accounts

    def messages(self) -> str:
        """Every error, as one sentence for a message on the page the person is sent back to."""
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


class RoleForm(AccountForm):
    """A role on one of the admin's accounts, for the person page."""

    role = forms.ChoiceField(
        choices=Role.choices,
        error_messages={"invalid_choice": "Choose viewer, billing manager or admin."},
        help_text="Viewers read; billing managers also top up and change limits; admins also manage people "
        "and alert rules.",
    )


class InviteForm(RoleForm):
    email = forms.EmailField(label="Email address", max_length=254)
    field_order = ["email", "account", "role"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email, account = cleaned.get("email"), cleaned.get("account")
        if email and account:
            grant = AccountAccess.objects.filter(user__email__iexact=email, account=account).first()
            if grant is not None:
                raise forms.ValidationError(
                    f"{email} already has access to {account.name} as {grant.get_role_display().lower()}: "
                    "change their role on their page instead."
                )
        return cleaned


class NewPersonForm(BaseUserCreationForm):
    """The log-in of a person accepting an invitation: a username and a password (the password validators
    apply); their email address is the invitation's."""

    class Meta:
        model = User
        fields = ("username",)
        field_classes = {"username": UsernameField}

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken: choose another.")
        return username
