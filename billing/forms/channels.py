"""Forms for notification channels: validation only (the URL is checked, never echoed back in full)."""

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from billing.forms.alerts import RecipientsField
from billing.models import Account, ChannelKind
from billing.notifications import destinations


class ChannelForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="How rules and the outbox name it, e.g. “#billing-alerts”."
    )
    kind = forms.ChoiceField(choices=ChannelKind.choices, initial=ChannelKind.SLACK)
    account = forms.ModelChoiceField(
        Account.objects.filter(is_active=True),
        required=False,
        empty_label="Every account (portal-wide)",
        help_text="An account's own channel (the team's Slack) is offered only on that account's rules.",
    )
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Slack: the incoming-webhook URL (https://hooks.slack.com/services/…). "
        "Webhook: any http(s) URL on the public internet. Stored encrypted and never shown again in full.",
    )
    emails = RecipientsField(required=False, label="Email addresses", help_text="For an email channel.")
    portal_alerts = forms.BooleanField(
        required=False,
        label="Also send portal-wide alerts here (background jobs stalled)",
        help_text="Portal-wide channels only.",
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if url:
            try:
                destinations.refuse_ambiguous(url)
            except destinations.AmbiguousURL as ambiguous:
                raise ValidationError(f"Enter the URL without tricks: {ambiguous}.") from None
            parts = urlsplit(url)
            try:
                parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
            except ValueError:
                raise ValidationError("Enter a URL whose port is a number from 1 to 65535.") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValidationError("Enter an http:// or https:// URL.")
            _check_public(url)
        return url

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if (
            kind in (ChannelKind.SLACK, ChannelKind.WEBHOOK)
            and not data.get("url")
            and "url" not in self.errors
        ):
            self.add_error("url", "A Slack or webhook channel needs its URL.")
        if kind == ChannelKind.EMAIL and not data.get("emails"):
            self.add_error("emails", "An email channel needs at least one address.")
        if data.get("account") is not None and data.get("portal_alerts"):
            self.add_error("portal_alerts", "Portal-wide alerts go to portal-wide channels only.")
        return data


def _check_public(url: str) -> None:
    """Refuses a URL whose host is on a private network (unless the operator allows those); a host that
    does not resolve yet is accepted: every delivery checks again and says so on the outbox."""
    if settings.ALERT_ALLOW_PRIVATE_URLS:
        return
    try:
        destinations.check(url)
    except destinations.PrivateDestination as refused:
        raise ValidationError(
            f"Alerts are sent only to public internet addresses: {refused}. An operator can allow "
            "receivers on private networks with ALERT_ALLOW_PRIVATE_URLS=true."
        ) from None
    except destinations.UnresolvableHost:
        pass
