"""Forms for alert rules and the test email: validation only."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone

from billing.alerts import attention
from billing.alerts.kinds import KINDS
from billing.alerts.levels import MAX_LEVELS, Direction
from billing.forms.fields import (
    DollarsField,
    NumberField,
    WholeNumberField,
    field_of,
    refuse_other_digits,
    show_unit,
)
from billing.models import AlertKind, AlertRule, NotificationChannel
from billing.money import cents_to_dollars, dollars_to_cents

MAX_RECIPIENTS = 50
_SEPARATORS = re.compile(r"[\s,;]+")

MAX_REMINDER_HOURS = 24 * 30


def plain(value: Decimal) -> Decimal:
    """10.000000 -> 10, 0.500000 -> 0.5 (never 1E+1)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


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

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # typed text cleaned to a list
        if isinstance(value, list):
            return value
        return parse_recipients(super().to_python(value) or "")


_LEVEL_NOISE = re.compile(r"[$%×]|days?|hours?|minutes?", re.IGNORECASE)


class LevelsField(forms.CharField):
    """Numbers separated by commas (or spaces, semicolons), units optional: "$20, $5", "95, 100 %"."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value: Any) -> list[Decimal]:  # type: ignore[override]  # typed text cleaned to a list
        if isinstance(value, list):
            return value
        typed = super().to_python(value) or ""
        refuse_other_digits(typed, str(self.label))
        text = _LEVEL_NOISE.sub(" ", typed)
        parts = [part for part in re.split(r"[\s,;]+", text) if part]
        values = []
        for part in parts:
            try:
                number = Decimal(part)
            except ArithmeticError:
                raise ValidationError(f"“{part}” is not a number. Write levels like 20, 5.") from None
            if not number.is_finite():
                raise ValidationError(f"“{part}” is not a number. Write levels like 20, 5.")
            values.append(number)
        return values


class AlertRuleForm(forms.ModelForm):
    """One rule of a known kind (the kind comes from the URL, the account from the view). Each amount is typed
    in its kind's unit, shown beside the field, and its bounds are in the help text: all from the kind's entry
    (billing/alerts/kinds.py)."""

    recipients = RecipientsField(
        required=False,
        label="Also email",
        help_text="Extra addresses, one per line (or separated by commas).",
    )

    class Meta:
        model = AlertRule
        fields = [
            "enabled",
            "threshold",
            "further_levels",
            "hysteresis",
            "recipients",
            "notify_managers",
            "channels",
            "reminder_hours",
        ]
        field_classes = {"reminder_hours": WholeNumberField}
        labels = {
            "enabled": "Alert on this",
            "hysteresis": "Margin before resolving",
            "notify_managers": "Email every billing manager and admin of the account",
            "reminder_hours": "Remind every",
            "channels": "Also notify",
        }

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = AlertKind(kind)
        self.entry = KINDS[self.kind]
        self.unit = self.entry.scale.unit
        low, high = self.entry.bounds
        self.fields["threshold"] = self._amount_field("Threshold", low, high)
        self.fields[
            "threshold"
        ].help_text = f"{self.entry.threshold_help} From {self._with_unit(low)} to {self._with_unit(high)}."
        self._levels_field(low, high)
        self.fields["hysteresis"] = self._amount_field("Margin before resolving", Decimal(0), high)
        self.fields["hysteresis"].help_text = self.entry.margin_help
        hours = self.fields["reminder_hours"]
        show_unit(hours, "hours")
        hours.help_text = (
            f"While the alert stays open; 0 sends no reminders. At most {MAX_REMINDER_HOURS} hours."
        )
        hours.widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
        hours.error_messages.update(
            {
                "invalid": "Enter a whole number of hours between reminders, like 24.",
                "min_value": "Reminder hours cannot be negative; 0 sends no reminders.",
            }
        )
        for name in ("threshold", "hysteresis"):
            value = self.initial.get(name)
            if isinstance(value, Decimal):
                self.initial[name] = f"{value:.2f}" if self.unit.money else str(plain(value))
        self._channels_field()
        if self.entry.operators_only:
            # Stale data goes to the operators, who can mend the token or the API, not to everyone.
            for name in ("recipients", "notify_managers"):
                self.fields[name].disabled = True
                self.fields[name].help_text = f"{self.kind.label} is emailed to the portal's operators only."

    def _amount_field(self, label: str, low: Decimal, high: Decimal) -> forms.Field:
        unit = self.unit
        name = "the threshold" if label == "Threshold" else "the margin"
        if unit.money:
            field = DollarsField(
                label=label,
                min_cents=dollars_to_cents(low),
                max_cents=dollars_to_cents(high),
                invalid_message=f"Enter a number of dollars for {name}, like 25 or 25.50.",
            )
            show_unit(field, money=True)
            return field
        example = "7 or 2.5" if unit.places else "7"
        places = f"{unit.places} decimal place{'s' if unit.places != 1 else ''}"
        decimal = NumberField(
            label=label,
            max_digits=14,
            decimal_places=unit.places,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            error_messages={
                "invalid": f"Enter a number of {unit.words} for {name}, like {example}.",
                "max_decimal_places": f"{label} can have at most {places}."
                if unit.places
                else f"{label} must be a whole number of {unit.words}.",
                "max_digits": f"{label} is far too large.",
                "max_whole_digits": f"{label} is far too large.",
            },
        )
        show_unit(decimal, unit.sign)
        return decimal

    def _levels_field(self, low: Decimal, high: Decimal) -> None:
        """More severe levels after the threshold, for the kinds that have levels; absent for the others."""
        if not self.entry.scale.levels:
            del self.fields["further_levels"]
            return
        self.fields["threshold"].help_text = "Level 1. " + self.fields["threshold"].help_text
        field = LevelsField(required=False, label="More severe levels")
        show_unit(field, self.unit.sign, money=self.unit.money)
        more = self._direction.more_severe
        field.help_text = (
            f"Up to {MAX_LEVELS - 1} more, separated by commas, each {more} than the threshold; each level "
            f"reached is announced once while the alert is open. Example: {self.entry.levels_example}."
        )
        self.fields["further_levels"] = field
        values = self.initial.get("further_levels") or []
        self.initial["further_levels"] = ", ".join(self._shown(Decimal(str(v))) for v in values)

    def _shown(self, value: Decimal) -> str:
        return f"{value:.2f}" if self.unit.money else str(plain(value))

    def _with_unit(self, value: Decimal) -> str:
        return self.entry.threshold_text(value)

    @property
    def _direction(self) -> Direction:
        """Which way the kind alerts; only kinds with levels, which all have a direction, ask."""
        direction = self.entry.scale.direction
        assert direction is not None
        return direction

    def clean_further_levels(self) -> list[Decimal]:
        values = self.cleaned_data.get("further_levels") or []
        low, high = self.entry.bounds
        for value in values:
            if not low <= value <= high:
                raise ValidationError(
                    f"{self._shown(value)} is out of bounds: each level is from {self._with_unit(low)} "
                    f"to {self._with_unit(high)}."
                )
            if value.as_tuple().exponent < -max(self.unit.places, 2 if self.unit.money else 0):
                raise ValidationError(f"{value} has too many decimal places for {self.unit.words}.")
        if len(values) != len(set(values)):
            raise ValidationError("Each level must be different.")
        return values

    def _clean_levels(self, data: dict[str, Any]) -> None:
        threshold, further = data.get("threshold"), data.get("further_levels")
        if threshold is None or not further:
            if further is not None:
                data["further_levels"] = []
            return
        every = [threshold, *further]
        if len(every) > MAX_LEVELS:
            self.add_error("further_levels", f"At most {MAX_LEVELS} levels, the threshold included.")
        elif len(set(every)) != len(every):
            self.add_error("further_levels", "Each level must differ from the threshold and from the others.")
        elif self._direction.ordered(every)[0] != threshold:
            more = self._direction.more_severe
            self.add_error(
                "further_levels",
                f"More severe levels are {more} than the threshold ({self._with_unit(threshold)}).",
            )
        else:
            data["further_levels"] = [str(plain(value)) for value in self._direction.ordered(every)[1:]]

    def _dollars(self, value: Any) -> Decimal:
        # The money kinds' fields clean to cents; the rule stores dollars.
        return cents_to_dollars(value) if self.unit.money else value

    def _channels_field(self) -> None:
        """Portal-wide channels, and the account's own; a new account rule starts with the default's."""
        account_id = self.instance.account_id
        field = field_of(self, "channels", forms.ModelMultipleChoiceField)
        field.queryset = NotificationChannel.objects.filter(
            Q(account__isnull=True) | Q(account_id=account_id) if account_id else Q(account__isnull=True)
        )
        field.required = False
        field.help_text = "Slack, webhook or email channels (set up by an admin under Alerts › Channels)."
        if self.instance.pk is None and account_id and not self.is_bound:
            default = AlertRule.objects.filter(account__isnull=True, kind=self.kind).first()
            if default is not None:
                self.initial["channels"] = list(default.channels.values_list("pk", flat=True))

    def clean_threshold(self) -> Decimal:
        threshold = plain(Decimal(self._dollars(self.cleaned_data["threshold"])))
        low, high = self.entry.bounds
        rule = (
            f"Between {plain(low)} and {plain(high)} {self.unit.words} for a {self.kind.label.lower()} rule."
        )
        if threshold < low:
            raise ValidationError(f"Threshold must be at least {self._with_unit(low)}. {rule}")
        if threshold > high:
            raise ValidationError(f"Threshold must be at most {self._with_unit(high)}. {rule}")
        return threshold

    def clean_hysteresis(self) -> Decimal:
        margin = plain(Decimal(self._dollars(self.cleaned_data["hysteresis"])))
        if margin < 0:
            raise ValidationError("The margin before resolving cannot be negative.")
        return margin

    def clean_reminder_hours(self) -> int:
        hours = self.cleaned_data["reminder_hours"]
        if hours > MAX_REMINDER_HOURS:
            raise ValidationError(f"At most {MAX_REMINDER_HOURS} hours (30 days) between reminders.")
        return hours

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "further_levels" in self.fields:
            self._clean_levels(data)
        threshold, margin = data.get("threshold"), data.get("hysteresis")
        # A kind that alerts above resolves below its threshold by the margin: a margin as large as the
        # threshold would never let it resolve.
        if (
            self.entry.scale.direction is Direction.ABOVE
            and threshold is not None
            and margin is not None
            and margin >= threshold
        ):
            self.add_error(
                "hysteresis",
                f"The margin must be smaller than the threshold ({self._with_unit(threshold)}), "
                "or the alert never resolves.",
            )
        return data


class TestEmailForm(forms.Form):
    to = forms.EmailField(
        label="Send to",
        error_messages={"invalid": "Enter a valid email address, like name@example.com."},
    )


class SnoozeForm(forms.Form):
    """Until when an open alert's reminders wait: a time ahead, at most MAX_SNOOZE_DAYS away (TIME_ZONE)."""

    until = forms.DateTimeField(
        label="Snooze until",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "invalid": "Enter a date and time, like 2026-03-18 14:00.",
            "required": "Enter a time.",
        },
    )

    def clean_until(self) -> datetime:
        until = self.cleaned_data["until"]
        now = timezone.now()
        if until <= now:
            raise ValidationError("Choose a time ahead: that one has passed.")
        if until > now + timedelta(days=attention.MAX_SNOOZE_DAYS):
            raise ValidationError(f"Snooze for at most {attention.MAX_SNOOZE_DAYS} days.")
        return until
