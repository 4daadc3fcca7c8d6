"""Intents of config writes (auto top-up, spending limit, gateway rules): one row per submitted form, so a
form posted twice acts once, and a write whose answer was lost is settled by a later read."""

from django.conf import settings
from django.db import models

from billing.models.accounts import Account
from billing.models.audit import AuditAction


class WriteOutcome(models.TextChoices):
    PENDING = "pending", "Sending"
    SUCCEEDED = "succeeded", "Saved"
    FAILED = "failed", "Not saved"
    UNKNOWN = "unknown", "Outcome unknown"


class WriteIntent(models.Model):
    """One person's submitted write to Cloudflare. The unique intent key is written before Cloudflare is
    called: a second submit of the same form finds it and sends nothing. `target` is the gateway of a rule
    change, blank for an account-level write; `parameters` what was asked, so a read can tell whether
    Cloudflare holds it (`settled_at`, `cloudflare_holds`)."""

    intent_key = models.UUIDField(unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=128, blank=True, default="")
    action = models.CharField(max_length=32)
    parameters = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=WriteOutcome.choices, default=WriteOutcome.PENDING)
    error = models.TextField(blank=True, default="")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    cloudflare_holds = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["outcome", "account"], name="writeintent_outcome")]

    def __str__(self) -> str:
        return f"{self.target or self.account} {self.action} {self.outcome}"

    @property
    def label(self) -> str:
        """The kind of write, as the audit log names it."""
        return AuditAction(self.action).label if self.action in AuditAction.values else self.action
