"""Forms of the gateway rule editor: validation only. A budget is typed in dollars (cleaned to Decimal
dollars, Cloudflare's unit for rules), a window picked from presets or typed as a number and a unit (cleaned
to seconds, the unit Cloudflare's integer is read in). No form calls the API."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django import forms

from billing.forms.fields import DollarsField, WholeNumberField, field_of
from billing.limits import (
    GATEWAY_RULE_MIN_CENTS,
    GATEWAY_RULE_WINDOW_MAX_SECONDS,
    GATEWAY_RULE_WINDOW_MIN_SECONDS,
    gateway_rule_max_cents,
)
from billing.models import RuleTechnique
from billing.money import cents_to_dollars, seconds_to_window, window_to_seconds

CUSTOM = "custom"
WINDOW_PRESETS = [
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    (CUSTOM, "Custom…"),
]
WINDOW_UNITS = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]
METADATA_MODES = [
    ("", "No metadata scope"),
    ("partition", "Partition: a separate budget per value of the key"),
    ("filter", "Filter: only requests with these values"),
]
MAX_LIST_ITEMS = 50


class BudgetField(DollarsField):
    """Dollars, with errors that name the rule they are about ("Budget of rule chat-weekly must be …")."""

    def __init__(self, *, rule_name: str = "the new rule", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule_name = rule_name

    def clean(self, value: Any) -> int | None:
        shown, self.label = self.label, f"{self.label} of {self.rule_name}"
        self.error_messages["required"] = f"Enter the {self.label.lower()}, in US dollars."
        try:
            return super().clean(value)
        finally:
            self.label = shown


class CommaListField(forms.CharField):
    """Names typed comma separated ("gpt-4o, gpt-4o-mini"): a list without blanks or repeats."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # typed text cleaned to a list
        text = super().to_python(value) or ""
        if "\x00" in text:
            raise forms.ValidationError(f"{self.label}: null characters are not allowed.")
        items = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        if len(items) > MAX_LIST_ITEMS:
            raise forms.ValidationError(f"{self.label}: at most {MAX_LIST_ITEMS} names.")
        too_long = [item for item in items if len(item) > 200]
        if too_long:
            raise forms.ValidationError(f"{self.label}: a name is longer than 200 characters.")
        return items

    def prepare_value(self, value: object) -> object:
        return ", ".join(value) if isinstance(value, list | tuple) else value


class _Shown(forms.Form):
    """What every change carries: the gateway's `modified_at` as the form showed it, and a one-time key."""

    modified_at = forms.CharField(widget=forms.HiddenInput)
    intent_key = forms.UUIDField(widget=forms.HiddenInput)
    rule_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=128)
    confirmed = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def clean_modified_at(self) -> datetime:
        try:
            moment = datetime.fromisoformat(self.cleaned_data["modified_at"])
        except ValueError:
            raise forms.ValidationError("The form is damaged; open it again.") from None
        if moment.tzinfo is None:
            raise forms.ValidationError("The form is damaged; open it again.")
        return moment

    @staticmethod
    def shown_initial(modified_at: datetime | None, rule_id: str = "") -> dict:
        return {
            "modified_at": modified_at.isoformat() if modified_at else "",
            "intent_key": uuid.uuid4(),
            "rule_id": rule_id,
        }


class GatewayRuleActionForm(_Shown):
    """Switching a rule on or off, or removing it: only what was shown."""


class GatewayRuleForm(_Shown):
    name = forms.RegexField(
        label="Name",
        required=False,
        max_length=64,
        regex=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        error_messages={"invalid": "Name: letters, digits, - and _ only, starting with a letter or digit."},
        help_text="The rule's id in Cloudflare, e.g. chat-weekly (letters, digits, - and _). Left empty, "
        "Cloudflare names it (rule_…). It cannot be changed later.",
    )
    limit = BudgetField(
        label="Budget",
        min_cents=GATEWAY_RULE_MIN_CENTS,
        help_text="US dollars the traffic this rule covers may spend per window.",
    )
    window = forms.ChoiceField(label="Window", choices=WINDOW_PRESETS, initial="86400")
    window_number = WholeNumberField(label="Custom window", min_value=1, required=False)
    window_unit = forms.ChoiceField(label="Unit", choices=WINDOW_UNITS, required=False, initial="hours")
    technique = forms.ChoiceField(
        label="Window type",
        choices=RuleTechnique.choices,
        initial=RuleTechnique.SLIDING,  # Cloudflare's default for a rule that does not say
        help_text="Fixed: blocks of the window's length counted from the Unix epoch (a UTC day for 1 day). "
        "Sliding: the window's length up to each request.",
    )
    models = forms.MultipleChoiceField(
        label="Models seen on this gateway", required=False, widget=forms.CheckboxSelectMultiple
    )
    models_typed = CommaListField(
        label="Other models", required=False, help_text="Comma separated, as Cloudflare names them."
    )
    providers = forms.MultipleChoiceField(
        label="Providers seen on this gateway", required=False, widget=forms.CheckboxSelectMultiple
    )
    providers_typed = CommaListField(label="Other providers", required=False, help_text="Comma separated.")
    metadata_key = forms.CharField(label="Metadata key", required=False, max_length=100)
    metadata_mode = forms.ChoiceField(label="Metadata scope", choices=METADATA_MODES, required=False)
    metadata_values = CommaListField(label="Metadata values", required=False, help_text="For a filter.")
    enabled = forms.BooleanField(label="Enforce this rule", required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        seen_models: Iterable[str] = (),
        seen_providers: Iterable[str] = (),
        rule_name: str = "the new rule",
        kept_metadata: Mapping[str, Any] | None = None,
        new: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not new:
            del self.fields["name"]  # a rule's id is how Cloudflare and the portal know it: never renamed
        self.rule_name = rule_name
        # An existing rule's metadata keys beyond the first (the form edits one key): sent back as they were.
        self.kept_metadata = dict(kept_metadata or {})
        limit = field_of(self, "limit", BudgetField)
        limit.rule_name = rule_name
        limit.max_cents = gateway_rule_max_cents()
        field_of(self, "models", forms.MultipleChoiceField).choices = [(name, name) for name in seen_models]
        field_of(self, "providers", forms.MultipleChoiceField).choices = [
            (name, name) for name in seen_providers
        ]
        for name in ("window_number", "metadata_key", "metadata_values", "models_typed", "providers_typed"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["window_seconds"] = self._window_seconds(data)
        data["metadata"] = {**self.kept_metadata, **self._metadata(data)}
        return data

    def _window_seconds(self, data: dict[str, Any]) -> int | None:
        choice = data.get("window")
        if not choice:
            return None
        if choice != CUSTOM:
            return int(choice)
        number, unit = data.get("window_number"), data.get("window_unit")
        if not number or not unit:
            self.add_error("window_number", f"Custom window of {self.rule_name}: enter a number and a unit.")
            return None
        seconds = window_to_seconds(number, unit)
        if not GATEWAY_RULE_WINDOW_MIN_SECONDS <= seconds <= GATEWAY_RULE_WINDOW_MAX_SECONDS:
            self.add_error(
                "window_number", f"Custom window of {self.rule_name}: between 1 minute and 366 days."
            )
            return None
        return seconds

    def _metadata(self, data: dict[str, Any]) -> dict[str, Any]:
        key = data.get("metadata_key", "").strip()
        mode, values = data.get("metadata_mode"), data.get("metadata_values")
        if not key and not mode:
            return {}
        if not key or not mode:
            self.add_error("metadata_key", f"Metadata of {self.rule_name}: give both a key and a scope.")
            return {}
        if mode == "filter":
            if not values:
                self.add_error("metadata_values", f"Metadata filter of {self.rule_name}: list the values.")
                return {}
            return {key: {"mode": "filter", "values": values}}
        return {key: {"mode": "partition"}}

    def rule_fields(self) -> dict[str, Any]:
        """The cleaned rule, as keyword arguments of `operations.RuleDraft`."""
        data = self.cleaned_data
        models = tuple(dict.fromkeys([*data["models"], *data["models_typed"]]))
        providers = tuple(dict.fromkeys([*data["providers"], *data["providers_typed"]]))
        return {
            "name": data.get("name", ""),
            "limit": cents_to_dollars(data["limit"]),
            "window_seconds": data["window_seconds"],
            "technique": data["technique"],
            "models": models or None,
            "providers": providers or None,
            "metadata": data["metadata"],
            "enabled": data["enabled"],
        }

    @classmethod
    def initial_for(
        cls, draft, modified_at: datetime | None, rule_id: str, seen_models, seen_providers
    ) -> dict:
        """The initial values that show an existing rule (a `RuleDraft`) in the form."""
        preset = str(draft.window_seconds) if str(draft.window_seconds) in dict(WINDOW_PRESETS) else CUSTOM
        number, unit = seconds_to_window(draft.window_seconds)
        key, scope = next(iter(draft.metadata.items()), ("", {}))
        return {
            **cls.shown_initial(modified_at, rule_id),
            "limit": f"{draft.limit:.2f}",
            "window": preset,
            "window_number": number if unit != "seconds" else None,
            "window_unit": unit if unit != "seconds" else "minutes",
            "technique": draft.technique,
            "models": [name for name in draft.models or () if name in seen_models],
            "models_typed": [name for name in draft.models or () if name not in seen_models],
            "providers": [name for name in draft.providers or () if name in seen_providers],
            "providers_typed": [name for name in draft.providers or () if name not in seen_providers],
            "metadata_key": key,
            "metadata_mode": scope.get("mode", "") if isinstance(scope, dict) else "",
            "metadata_values": scope.get("values", []) if isinstance(scope, dict) else [],
            "enabled": draft.enabled,
        }
