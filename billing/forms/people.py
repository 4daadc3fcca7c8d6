"""People: inviting by email, giving or changing a role on an account, and the new person's log-in when
they accept an invitation (validation only)."""

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import User
from django.db.models import QuerySet

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

    def __init__(self, *args, accounts: QuerySet[Account], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts


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

    def clean(self):
        cleaned = super().clean()
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

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("username",)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken: choose another.")
        return username
