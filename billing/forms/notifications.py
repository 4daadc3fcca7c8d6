"""The signed-in person's notification settings: digest frequency, hour and time zone (validation only)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.core.exceptions import ValidationError

from billing.models import DigestFrequency

HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


class NotificationSettingsForm(forms.Form):
    digest_frequency = forms.ChoiceField(
        label="Digest email",
        choices=DigestFrequency.choices,
        widget=forms.RadioSelect,
        help_text="A summary of every account you can see: balance, spend against the period before, "
        "where the money goes, and the alerts opened and resolved.",
    )
    digest_hour = forms.TypedChoiceField(
        label="Send at", choices=HOURS, coerce=int, help_text="In your time zone, the day after the period."
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
        help_text="An IANA name, like Europe/Berlin or America/New_York; days start at midnight there.",
    )

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"“{name}” is not a time zone this server knows. Write an IANA name, like Europe/Berlin."
            ) from None
        return name
