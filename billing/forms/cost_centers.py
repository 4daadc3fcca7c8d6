"""The cost-center form: a name, the gateways it is made of, and optionally the models or providers it is
narrowed to (typed comma separated, as analytics names them)."""

from typing import Any

from django import forms

from billing.models import Account, CostCenter, Gateway

MAX_NAMES = 50


def _names(text: str, label: str) -> list[str]:
    names = sorted({part.strip() for part in text.split(",") if part.strip()})
    if len(names) > MAX_NAMES:
        raise forms.ValidationError(f"At most {MAX_NAMES} {label}, please.")
    if any(len(name) > 200 for name in names):
        raise forms.ValidationError(f"A name in {label} is longer than 200 characters.")
    return names


class CostCenterForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    gateways = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one gateway."},
    )
    only_models = forms.CharField(
        required=False,
        label="Only these models",
        help_text="Optional, comma separated, e.g. gpt-4o-mini or openai/gpt-4o-mini. Empty: every model.",
    )
    only_providers = forms.CharField(
        required=False,
        label="Only these providers",
        help_text="Optional, comma separated, e.g. openai, anthropic. Empty: every provider.",
    )

    def __init__(self, *args: Any, account: Account, instance: CostCenter | None = None, **kwargs: Any):
        if instance is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "gateways": instance.gateways,
                "only_models": ", ".join(instance.only_models),
                "only_providers": ", ".join(instance.only_providers),
            }
        super().__init__(*args, **kwargs)
        self.account, self.instance = account, instance
        known = list(Gateway.objects.filter(account=account).values_list("gateway_id", flat=True))
        # A gateway deleted since the cost center was made stays choosable: saving does not drop it silently.
        kept = instance.gateways if instance else []
        gateways = self.fields["gateways"]
        assert isinstance(gateways, forms.MultipleChoiceField)
        gateways.choices = [(g, g) for g in sorted({*known, *kept})]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = CostCenter.objects.filter(account=self.account, name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"There is already a cost center named “{name}”.")
        return name

    def clean_gateways(self) -> list[str]:
        return sorted(self.cleaned_data["gateways"])

    def clean_only_models(self) -> list[str]:
        return _names(self.cleaned_data.get("only_models") or "", "models")

    def clean_only_providers(self) -> list[str]:
        return _names(self.cleaned_data.get("only_providers") or "", "providers")
