"""Which rule applies to an account, who hears of it, and how people change rules (audited)."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from billing import audit
from billing.alerts.kinds import KINDS
from billing.models import (
    Account,
    AccountAccess,
    AlertRule,
    AlertSubscription,
    AuditAction,
    AuditOutcome,
    Role,
)


def rules_for(account: Account) -> dict[str, AlertRule]:
    """The enabled rule of each kind for the account: its own rule, else the portal-wide default."""
    rules: dict[str, AlertRule] = {}
    own: dict[str, AlertRule] = {}
    for rule in AlertRule.objects.filter(Q(account=account) | Q(account__isnull=True)):
        (own if rule.account_id else rules)[rule.kind] = rule
    rules.update(own)
    # An account's disabled rule switches the kind off for it, default or not.
    return {kind: rule for kind, rule in rules.items() if rule.enabled}


def operator_emails() -> list[str]:
    """ALERT_OPERATOR_EMAILS and every active superuser's address: they can mend tokens and the API."""
    superusers = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return [*settings.ALERT_OPERATOR_EMAILS, *superusers.values_list("email", flat=True)]


def recipients_for(rule: AlertRule, account: Account) -> list[str]:
    """Whom the rule's own email goes to: the operators for a kind only they can mend (stale data), else the
    rule's addresses, the account's managers and admins when it says so, and the account's subscribers."""
    if KINDS[rule.kind].operators_only:
        return operator_emails()
    addresses = list(rule.recipients)
    if rule.notify_managers:
        managers = AccountAccess.objects.filter(
            account=account, role__in=[Role.MANAGER, Role.ADMIN], user__is_active=True
        ).exclude(user__email="")
        addresses += managers.values_list("user__email", flat=True)
    return addresses + subscriber_emails(account)


def subscriber_emails(account: Account) -> list[str]:
    """The addresses of the people who subscribed to the account's alerts (and still may see it)."""
    may_see = Q(user__account_grants__account=account) | Q(user__is_superuser=True)
    subscriptions = AlertSubscription.objects.filter(may_see, account=account, user__is_active=True).exclude(
        user__email=""
    )
    return list(subscriptions.values_list("user__email", flat=True).distinct())


RULE_FIELDS = (
    "enabled",
    "threshold",
    "further_levels",
    "hysteresis",
    "recipients",
    "notify_managers",
    "reminder_hours",
)


def own_rule_draft(account: Account, kind: str) -> tuple[AlertRule, AlertRule | None]:
    """(the account's own rule of `kind`, or an unsaved copy of the portal default; the default or None)."""
    own = AlertRule.objects.filter(account=account, kind=kind).first()
    default = AlertRule.objects.filter(account__isnull=True, kind=kind).first()
    if own is None:
        own = AlertRule(account=account, kind=kind)
        if default is not None:
            for name in RULE_FIELDS:
                setattr(own, name, getattr(default, name))
    return own, default


def _rule_parameters(rule: AlertRule, change: str) -> dict:
    return {
        "change": change,
        "kind": rule.kind,
        "channels": sorted(rule.channels.values_list("name", flat=True)) if rule.pk else [],
        **{
            name: rule.recipients if name == "recipients" else _plain(getattr(rule, name))
            for name in RULE_FIELDS
        },
    }


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def save_rule(form, actor, account: Account | None, *, ip_address: str | None = None) -> AlertRule:
    """Saves a valid rule form (an account's own rule, or a portal default when `account` is None) and audits
    the change in the same transaction; returns the saved rule."""
    change = "set" if account is not None else "set portal default"
    with transaction.atomic():
        rule = form.save()
        _audit_rule(actor, account, _rule_parameters(rule, change), ip_address)
    return rule


def reset_rule(account: Account, kind: str, actor, *, ip_address: str | None = None) -> bool:
    """Removes the account's own rule of `kind` (the portal default applies again), audited; False when it had
    none."""
    with transaction.atomic():
        rule = AlertRule.objects.filter(account=account, kind=kind).first()
        if rule is None:
            return False
        _audit_rule(actor, account, _rule_parameters(rule, "reset to default"), ip_address)
        rule.delete()
    return True


def _audit_rule(actor, account: Account | None, parameters: dict, ip_address: str | None) -> None:
    audit.record(
        actor=actor,
        account=account,
        action=AuditAction.ALERT_RULE_CHANGE,
        outcome=AuditOutcome.SUCCEEDED,
        parameters=parameters,
        ip_address=ip_address,
    )
