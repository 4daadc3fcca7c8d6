"""Filters of the list pages: the usage page's range, the invoices' type, the audit log's account, person and
action."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from billing.forms.fields import DayField, field_of
from billing.models import Account, AuditAction, InvoiceType, UsageWindow


@dataclass(frozen=True)
class UsageRange:
    """The range the usage page shows: window, first and last day (both included), and what was changed from
    the request and why (one sentence each, naming the field)."""

    window: str
    first: date
    last: date
    notices: tuple[str, ...] = ()


class UsageFilterForm(forms.Form):
    """The usage page's range. Bad input is an error beside its field (the page then shows the default range);
    a range the page cannot show whole is shortened, and `resolve()` says so."""

    # The usage page sums hours into wider bars over long ranges, so hours may span a year like days.
    MAX_HOUR_DAYS = 366
    MAX_DAY_DAYS = 366

    window = forms.ChoiceField(
        label="Group by",
        choices=UsageWindow.choices,
        required=False,
        error_messages={"invalid_choice": "Group by must be Day or Hour; “%(value)s” is neither."},
    )
    start = DayField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "From must be a date like 2026-11-01."},
    )
    end = DayField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "To must be a date like 2026-11-30."},
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("start", f"From ({start:%b %-d, %Y}) must be on or before To ({end:%b %-d, %Y}).")
        return data

    def resolve(self) -> UsageRange:
        """The range to show. Fields with errors fall back to their defaults; a future To date becomes today
        and a range longer than the window allows keeps its last days, each with a notice."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else self._valid_part()
        window = data.get("window") or UsageWindow.DAY
        today = timezone.localdate()
        notices = []
        end = data.get("end") or today
        if end > today:
            notices.append(f"To ({end:%b %-d, %Y}) was in the future; showing up to today.")
            end = today
        span = self.MAX_HOUR_DAYS if window == UsageWindow.HOUR else self.MAX_DAY_DAYS
        default_days = 2 if window == UsageWindow.HOUR else 30
        start = data.get("start") or end - timedelta(days=default_days - 1)
        if start > end:  # only when To was moved back to today
            notices.append(f"From ({start:%b %-d, %Y}) was in the future; showing today only.")
            start = end
        if (end - start).days + 1 > span:
            start = end - timedelta(days=span - 1)
            notices.append(
                f"The range was longer than {span} days, the most the page shows; "
                f"showing the last {span} days, from {start:%b %-d, %Y}."
            )
        return UsageRange(window, start, end, tuple(notices))

    def _valid_part(self) -> dict[str, Any]:
        # The fields that did clean, without the one an error was reported on.
        if not self.is_bound:
            return {}
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}

    def range(self) -> tuple[str, date, date]:
        """(window, first day, last day) in the portal's time zone, both days included."""
        shown = self.resolve()
        return shown.window, shown.first, shown.last


class InvoiceFilterForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("all", "All"), (InvoiceType.AUTO, "Auto top-up"), (InvoiceType.MANUAL, "Manual")],
        required=False,
    )


class AuditFilterForm(forms.Form):
    account: "forms.ModelChoiceField[Account]" = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All accounts"
    )
    person = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(choices=[("", "All actions"), *AuditAction.choices], required=False)

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = field_of(self, "account", forms.ModelChoiceField)
        account.queryset = accounts
        account.to_field_name = "cloudflare_id"
