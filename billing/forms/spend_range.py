"""The range form of the gateway spend breakdown: presets (24 h, 7 d, 30 d, 90 d) or custom UTC dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from billing.figures.gateway_spend import DEFAULT_PRESET, PRESETS, Range, preset, whole_days
from billing.forms.fields import DayField

# How far back the daily spend history goes (13 months, as retention keeps it).
MAX_DAYS_BACK = 396


class SpendRangeForm(forms.Form):
    """Validates a range; `range_of()` gives it with its start, end and meaning. Bad input is an error naming
    the field, never a silently shortened range."""

    range = forms.ChoiceField(
        choices=[*((key, chosen.label) for key, chosen in PRESETS.items()), ("custom", "Custom dates")],
        required=False,
        # What an empty range means (see clean), so the picker shows the range the page shows.
        initial=DEFAULT_PRESET,
    )
    start = DayField(required=False, label="From (UTC date)")
    end = DayField(required=False, label="To (UTC date, included)")
    gateway = forms.CharField(required=False, max_length=128)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        choice = data.get("range") or DEFAULT_PRESET
        data["range"] = choice
        if choice != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        today = timezone.now().astimezone(UTC).date()
        if start is None and "start" not in self.errors:
            self.add_error("start", "Pick the first day of the range.")
        if end is None and "end" not in self.errors:
            self.add_error("end", "Pick the last day of the range.")
        if start and end and end < start:
            self.add_error("end", "The last day is before the first day.")
        if end and end > today:
            self.add_error("end", f"The last day is in the future (today is {today:%Y-%m-%d} UTC).")
        earliest = today - timedelta(days=MAX_DAYS_BACK)
        if start and start < earliest:
            self.add_error("start", f"The history goes back 13 months, to {earliest:%Y-%m-%d}.")
        return data

    def range_of(self, now: datetime | None = None) -> Range:
        """The valid form's range (the default preset for an unbound form), as `gateway_spend` means it."""
        now = now or timezone.now()
        data = self.cleaned_data if self.is_bound else {"range": DEFAULT_PRESET}
        if data["range"] == "custom":
            return whole_days(data["start"], data["end"], now)
        return preset(data["range"], now)
