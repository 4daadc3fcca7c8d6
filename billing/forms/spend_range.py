"""The range form of the gateway spend breakdown: presets (24 h, 7 d, 30 d, 90 d) or custom UTC dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone

PRESETS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
# How far back the daily spend history goes (13 months, as retention keeps it).
MAX_DAYS_BACK = 396


class SpendRangeForm(forms.Form):
    """Validates a range; `bounds()` gives [start, end) as aware UTC datetimes. Bad input is an error naming
    the field, never a silently shortened range."""

    range = forms.ChoiceField(
        choices=[
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("90d", "Last 90 days"),
            ("custom", "Custom dates"),
        ],
        required=False,
        initial="7d",  # what an empty range means (see clean), so the picker shows the range the page shows
    )
    start = forms.DateField(required=False, label="From (UTC date)")
    end = forms.DateField(required=False, label="To (UTC date, included)")
    gateway = forms.CharField(required=False, max_length=128)

    def clean(self):
        data = super().clean()
        choice = data.get("range") or "7d"
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

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """[start, end) of the valid form's range (the default, 7 days, for an unbound form)."""
        now = now or timezone.now()
        data = self.cleaned_data if self.is_bound else {"range": "7d"}
        if data["range"] == "custom":
            return _midnight(data["start"]), _midnight(data["end"] + timedelta(days=1))
        end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return end - PRESETS[data["range"]], end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
