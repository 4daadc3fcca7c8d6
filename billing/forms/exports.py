"""The FOCUS export's choices: which UTC days, and one account or every account the person sees."""

from datetime import date, timedelta
from typing import Any

from django import forms

# A year and a month: a finance tool reads a period or a year, not the whole history in one go.
MAX_EXPORT_DAYS = 400


class FocusExportForm(forms.Form):
    start = forms.DateField(
        required=False, help_text="First UTC day (YYYY-MM-DD); default: the 1st of this month."
    )
    end = forms.DateField(required=False, help_text="Last UTC day, included (YYYY-MM-DD); default: today.")
    account = forms.CharField(
        required=False, max_length=64, help_text="A Cloudflare account id; default: all."
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start = cleaned.get("start") or self.today.replace(day=1)
        end = cleaned.get("end") or self.today
        if end < start:
            raise forms.ValidationError("The last day is before the first day.")
        if end - start > timedelta(days=MAX_EXPORT_DAYS - 1):
            raise forms.ValidationError(f"Export at most {MAX_EXPORT_DAYS} days at a time.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned
