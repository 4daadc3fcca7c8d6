"""Forms for alert rules and the test email: validation only."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from billing.models import AlertKind, AlertRule

MAX_RECIPIENTS = 50
_SEPARATORS = re.compile(r"[\s,;]+")

# What `threshold` means for each kind, shown next to the field and used to bound it.
THRESHOLD_HELP = {
    AlertKind.LOW_BALANCE: "Alert when the balance falls below this many dollars.",
    AlertKind.RUNWAY: "Alert when the credit lasts fewer than this many days at the recent spend per day.",
    AlertKind.AUTO_TOPUP_FAILING: (
        "Alert when auto top-up reports an error or a disabled reason, or failed within this many hours."
    ),
    AlertKind.SPENDING_LIMIT: "Alert when the period's spend is above this percentage of the spending limit.",
    AlertKind.STALE_DATA: (
        "Alert the portal's operators when no sync has succeeded for this many minutes "
        "(the API or the token is broken)."
    ),
    AlertKind.USAGE_SPIKE: "Alert when a day's usage exceeds this multiple of the previous 14 days' median.",
    AlertKind.GATEWAY_RULE: "Alert when a gateway rule's window has used more than this % of its budget.",
}
HYSTERESIS_HELP = {
    AlertKind.LOW_BALANCE: "Resolve only once the balance is this many dollars above the threshold.",
    AlertKind.RUNWAY: "Resolve only once the runway is this many days above the threshold.",
    AlertKind.AUTO_TOPUP_FAILING: "Not used: the alert resolves as soon as auto top-up reports no failure.",
    AlertKind.SPENDING_LIMIT: "Resolve only once the spend is this many points (%) below the threshold.",
    AlertKind.STALE_DATA: "Resolve only once the data is this many minutes fresher than the threshold.",
    AlertKind.USAGE_SPIKE: "Resolve only once the day's usage is this much below the threshold multiple.",
    AlertKind.GATEWAY_RULE: "Resolve only once the rule's use is this many points (%) below the threshold.",
}
# (smallest, largest) threshold allowed per kind.
THRESHOLD_BOUNDS = {
    AlertKind.LOW_BALANCE: (Decimal(0), Decimal(10**9)),
    AlertKind.RUNWAY: (Decimal(0), Decimal(3650)),
    AlertKind.AUTO_TOPUP_FAILING: (Decimal(1), Decimal(24 * 365)),
    AlertKind.SPENDING_LIMIT: (Decimal(1), Decimal(100)),
    AlertKind.STALE_DATA: (Decimal(5), Decimal(60 * 24 * 30)),
    AlertKind.USAGE_SPIKE: (Decimal("1.1"), Decimal(1000)),
    AlertKind.GATEWAY_RULE: (Decimal(1), Decimal(100)),
}
# Kinds that resolve below the threshold: a margin as large as the threshold would never let them resolve.
_MARGIN_BELOW = {
    AlertKind.SPENDING_LIMIT,
    AlertKind.STALE_DATA,
    AlertKind.USAGE_SPIKE,
    AlertKind.GATEWAY_RULE,
}


def parse_recipients(raw: str) -> list[str]:
    """Addresses from text separated by commas, semicolons, spaces or lines; raises ValidationError naming
    every address that is not valid."""
    addresses = [part for part in _SEPARATORS.split(raw or "") if part]
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        listed = ", ".join(f"“{address}”" for address in bad)
        noun = "is not a valid email address" if len(bad) == 1 else "are not valid email addresses"
        raise ValidationError(f"{listed} {noun}. Write addresses like name@example.com, one per line.")
    unique = list(dict.fromkeys(address.lower() for address in addresses))
    if len(unique) > MAX_RECIPIENTS:
        raise ValidationError(f"At most {MAX_RECIPIENTS} addresses; use a mailing list for more.")
    return unique


class RecipientsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "finance@example.com\noncall@example.com"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        return parse_recipients(super().to_python(value))


class AlertRuleForm(forms.ModelForm):
    """One rule of a known kind (the kind comes from the URL, the account from the view)."""

    recipients = RecipientsField(
        required=False,
        label="Also email",
        help_text="Extra addresses, one per line (or separated by commas).",
    )

    class Meta:
        model = AlertRule
        fields = ["enabled", "threshold", "hysteresis", "recipients", "notify_managers", "reminder_hours"]
        labels = {
            "enabled": "Alert on this",
            "hysteresis": "Margin before resolving",
            "notify_managers": "Email every billing manager and admin of the account",
            "reminder_hours": "Remind every (hours)",
        }
        help_texts = {"reminder_hours": "While the alert stays open; 0 sends no reminders."}

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = AlertKind(kind)
        self.fields["threshold"].help_text = THRESHOLD_HELP[self.kind]
        self.fields["hysteresis"].help_text = HYSTERESIS_HELP[self.kind]
        if self.kind == AlertKind.STALE_DATA:
            # Stale data goes to the operators, who can mend the token or the API, not to everyone.
            for name in ("recipients", "notify_managers"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Stale data is emailed to the portal's operators only."

    def clean_threshold(self) -> Decimal:
        threshold = self.cleaned_data["threshold"]
        low, high = THRESHOLD_BOUNDS[self.kind]
        if not low <= threshold <= high:
            raise ValidationError(f"Between {low:f} and {high:f} for a {self.kind.label.lower()} rule.")
        return threshold

    def clean_hysteresis(self) -> Decimal:
        margin = self.cleaned_data["hysteresis"]
        if margin < 0:
            raise ValidationError("The margin cannot be negative.")
        return margin

    def clean_reminder_hours(self) -> int:
        hours = self.cleaned_data["reminder_hours"]
        if hours > 24 * 30:
            raise ValidationError("At most 720 hours (30 days) between reminders.")
        return hours

    def clean(self) -> dict:
        data = super().clean()
        threshold, margin = data.get("threshold"), data.get("hysteresis")
        if (
            self.kind in _MARGIN_BELOW
            and threshold is not None
            and margin is not None
            and margin >= threshold
        ):
            self.add_error(
                "hysteresis", "The margin must be smaller than the threshold, or the alert never resolves."
            )
        return data


class TestEmailForm(forms.Form):
    to = forms.EmailField(
        label="Send to",
        error_messages={"invalid": "Enter a valid email address, like name@example.com."},
    )
