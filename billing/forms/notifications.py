"""The signed-in person's settings: their time zone, digest frequency and hour (validation only)."""

from django import forms
from django.core.exceptions import ValidationError

from billing.models import DigestFrequency
from billing.time_zones import canonical_zone

HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


class NotificationSettingsForm(forms.Form):
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
        help_text="Type to search the list (any case: “berlin” finds Europe/Berlin). Every time on these "
        "pages, your digest and the emails sent to you alone are shown in it; days start at midnight there.",
    )
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

    def clean_time_zone(self) -> str:
        """The zone's IANA spelling, whatever the case it was typed in."""
        typed = self.cleaned_data["time_zone"].strip()
        name = canonical_zone(typed)
        if name is None:
            raise ValidationError(
                f"“{typed}” is not a time zone this server knows. Pick one from the list, like Europe/Berlin."
            )
        return name
