"""Intents of gateway rule changes: one row per submitted form, so a form posted twice acts once."""

from django.conf import settings
from django.db import models

from billing.models.accounts import Account


class RuleChangeOutcome(models.TextChoices):
    PENDING = "pending", "Sending"
    SUCCEEDED = "succeeded", "Saved"
    FAILED = "failed", "Not saved"
    UNKNOWN = "unknown", "Outcome unknown"


class GatewayRuleChange(models.Model):
    """One person's submitted change to a gateway's rules. The unique intent key is written before Cloudflare
    is called: a second submit of the same form finds it and sends nothing."""

    intent_key = models.UUIDField(unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    gateway_id = models.CharField(max_length=128)
    action = models.CharField(max_length=32)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(
        max_length=16, choices=RuleChangeOutcome.choices, default=RuleChangeOutcome.PENDING
    )
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.gateway_id} {self.action} {self.outcome}"
