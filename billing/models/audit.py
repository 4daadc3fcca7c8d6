"""The append-only audit log of every action that moves money or changes a limit, and of sign-in security."""

from collections.abc import Iterable
from typing import Any, NoReturn

from django.conf import settings
from django.db import models

from billing.models.accounts import Account


class AuditAction(models.TextChoices):
    TOPUP_CREATE = "topup.create", "Top-up"
    AUTO_TOPUP_SET = "auto_topup.set", "Auto top-up set"
    AUTO_TOPUP_DELETE = "auto_topup.delete", "Auto top-up removed"
    SPENDING_LIMIT_SET = "spending_limit.set", "Spending limit set"
    SPENDING_LIMIT_DELETE = "spending_limit.delete", "Spending limit removed"
    TOPUP_RECONCILED = "topup.reconciled", "Top-up outcome settled"
    TOPUP_RECHECKED = "topup.rechecked", "Unsettled top-ups checked before buying again"
    WRITE_SETTLED = "write.settled", "Change outcome settled by a read"
    ACCOUNT_REFRESH = "account.refresh", "Refresh now"
    ALERT_RULE_CHANGE = "alert_rule.change", "Alert rule changed"
    GATEWAY_RULE_ADD = "gateway_rule.add", "Gateway rule added"
    GATEWAY_RULE_EDIT = "gateway_rule.edit", "Gateway rule changed"
    GATEWAY_RULE_REMOVE = "gateway_rule.remove", "Gateway rule removed"
    GATEWAY_RULE_TOGGLE = "gateway_rule.toggle", "Gateway rule switched on or off"
    GATEWAY_SPEND_LIMITS_ENABLE = "gateway_spend_limits.enable", "Gateway spend limits switched on"
    ALERT_CHANNEL_CHANGE = "alert_channel.change", "Notification channel changed"
    SIGNIN_LOCKOUT = "signin.lockout", "Sign-in locked after failures"
    SIGNIN_UNLOCK = "signin.unlock", "Sign-in unlocked"
    TWO_FACTOR_ENROLLED = "two_factor.enrolled", "Two-factor turned on"
    TWO_FACTOR_DISABLED = "two_factor.disabled", "Two-factor turned off"
    TWO_FACTOR_RECOVERY_USED = "two_factor.recovery_used", "Recovery code used"
    TWO_FACTOR_RECOVERY_RENEWED = "two_factor.recovery_renewed", "Recovery codes renewed"
    COST_CENTER_CHANGE = "cost_center.change", "Cost center changed"
    PERSON_INVITED = "person.invited", "Person invited"
    INVITATION_ACCEPTED = "person.invitation_accepted", "Invitation accepted"
    PERSON_ROLE_SET = "person.role_set", "Role given or changed"
    PERSON_ACCESS_REMOVED = "person.access_removed", "Access removed"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "Alert acknowledged"
    ALERT_SNOOZED = "alert.snoozed", "Alert snoozed"
    BUDGET_SET = "budget.set", "Monthly budget changed"
    SUDO_CONFIRMED = "sudo.confirmed", "Identity confirmed again"
    SSO_SIGNIN = "sso.signin", "Signed in with SSO"
    SSO_ROLES_CHANGED = "sso.roles_changed", "SSO groups changed roles"
    SSO_MAPPING_CHANGE = "sso.mapping_change", "SSO role mapping changed"
    API_TOKEN_CREATE = "api_token.create", "API token made"
    API_TOKEN_REVOKE = "api_token.revoke", "API token revoked"


class AuditOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # Cloudflare answered 403: a definite no, nothing changed (some writes it takes from its dashboard only).
    REFUSED = "refused", "Refused by Cloudflare"
    UNKNOWN = "unknown", "Outcome unknown"
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"


class AppendOnlyError(Exception):
    """Audit entries are never changed or deleted."""


class AuditEntryQuerySet(models.QuerySet):
    def standing_refusal(self, account: Account, actions: Iterable[str]) -> "AuditEntry | None":
        """The latest of `actions` on `account` that Cloudflare refused, unless one succeeded since."""
        latest = (
            self.filter(account=account, action__in=actions)
            .filter(outcome__in=(AuditOutcome.REFUSED, AuditOutcome.SUCCEEDED))
            .order_by("-created_at", "-id")
            .first()
        )
        return latest if latest is not None and latest.outcome == AuditOutcome.REFUSED else None


class AuditEntry(models.Model):
    """Append-only: who did what to which account, when, with what outcome."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    account_cloudflare_id = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    parameters = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices)
    error = models.TextField(blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["account_cloudflare_id", "-created_at"], name="audit_account_created")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")
