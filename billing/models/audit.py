"""The append-only audit log of every action that moves money or changes a limit, and of sign-in security.

Each entry carries the hash of the entry before it (`previous_hash`) and its own (`entry_hash`, over its
fields and that previous hash): a chain, so an entry changed, removed or inserted afterwards in the database
breaks it at that point, and `manage.py verify_audit` names the first entry that does not chain. The first
entry's previous hash is empty; `previous_hash` is unique, so two writers cannot both append after the same
entry (the chain cannot fork).
"""

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

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
    # A POST on a money route that the portal refused: no permission (403), or a tampered form.
    REQUEST_REFUSED = "request.refused", "Request refused by the portal"
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
    # The portal said no before anything was sent: no permission, or a form that was tampered with.
    DENIED = "denied", "Denied by the portal"


# The fields an entry's hash covers, in this order (with the previous entry's hash).
CHAINED_FIELDS = (
    "created_at",
    "actor_name",  # the name, not the user's id: the id is cleared when the user is deleted
    "account_cloudflare_id",
    "action",
    "parameters",
    "outcome",
    "error",
    "ip_address",
    "user_agent",
)


def _canonical(name: str, value: Any) -> Any:
    if name == "created_at":
        return value.astimezone(UTC).isoformat(timespec="microseconds") if isinstance(value, datetime) else ""
    if name == "ip_address":
        return str(ipaddress.ip_address(value)) if value else ""
    return value if value is not None else ""


def chain_hash(previous_hash: str, fields: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of an entry: the previous entry's hash and the entry's CHAINED_FIELDS, as canonical
    JSON. Used by the writer, the check and the migration that chained the entries written before."""
    values = {name: _canonical(name, fields.get(name)) for name in CHAINED_FIELDS}
    text = json.dumps([previous_hash, values], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


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


# PostgreSQL advisory lock key of the audit chain (any constant the portal uses for nothing else).
CHAIN_LOCK_KEY = 0x61756469  # "audi"


def _lock_the_chain() -> None:
    """Serialises appenders until the transaction ends: on PostgreSQL an advisory transaction lock (locking
    the last row would let a waiter read it again, stale, once it is released); SQLite allows one writer
    at a time by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


class AuditEntry(models.Model):
    """Append-only: who did what to which account, when, with what outcome."""

    # Set by the writer before hashing (not auto_now_add, which would change it after).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
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
    user_agent = models.CharField(max_length=300, blank=True, default="")
    previous_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)

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
        """Appends the entry after the last one, chained to it, holding the chain's lock until the
        transaction ends; `previous_hash` is unique besides, so a writer that read a stale last entry fails
        with IntegrityError (billing.audit tries it again) rather than forking the chain."""
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        with transaction.atomic():
            _lock_the_chain()
            last = AuditEntry.objects.order_by("-id").only("entry_hash").first()
            self.previous_hash = last.entry_hash if last else ""
            self.entry_hash = self.computed_hash()
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")

    def computed_hash(self) -> str:
        """What `entry_hash` must be, from the entry's fields and its `previous_hash`."""
        return chain_hash(self.previous_hash, {name: getattr(self, name) for name in CHAINED_FIELDS})
