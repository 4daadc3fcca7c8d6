"""The identity provider's groups → roles per account, and the superusers' edits of that mapping.

For an account with at least one mapping row, the mapping decides the roles of people who sign in with
single sign-on: at each sign-in their grant on it becomes the highest role their groups map to, or goes
when none does (so a person who left a group loses that access at their next sign-in). Accounts that no
mapping names keep the grants given in the portal. Every change is audited.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from billing import audit
from billing.models import Account, AccountAccess, AuditAction, AuditOutcome, SsoRoleMapping
from billing.permissions import rank


def roles_for(groups: list[str]) -> tuple[set[int], dict[int, str]]:
    """The accounts the mapping decides, and the role the `groups` give on each (the highest)."""
    decided: set[int] = set()
    wanted: dict[int, str] = {}
    for mapping in SsoRoleMapping.objects.all():
        decided.add(mapping.account_id)
        if mapping.group in groups and rank(mapping.role) > rank(wanted.get(mapping.account_id)):
            wanted[mapping.account_id] = mapping.role
    return decided, wanted


def apply(user: User, groups: list[str]) -> list[dict[str, Any]]:
    """Brings `user`'s grants on the mapped accounts in line with `groups`; returns the changes made."""
    decided, wanted = roles_for(groups)
    held = {
        grant.account_id: grant for grant in AccountAccess.objects.filter(user=user, account_id__in=decided)
    }
    changes: list[dict[str, Any]] = []
    with transaction.atomic():
        for account_id in sorted(decided):
            grant, role = held.get(account_id), wanted.get(account_id)
            before = grant.role if grant else None
            if before == role:
                continue
            if role is None:
                AccountAccess.objects.filter(pk=grant.pk).delete()  # type: ignore[union-attr]
            elif grant is None:
                AccountAccess.objects.create(user=user, account_id=account_id, role=role)
            else:
                AccountAccess.objects.filter(pk=grant.pk).update(role=role)
            changes.append({"account_id": account_id, "before": before, "after": role})
    if changes:
        _audit_grants(user, groups, changes)
    return changes


def _audit_grants(user: User, groups: list[str], changes: list[dict[str, Any]]) -> None:
    names = dict(
        Account.objects.filter(pk__in=[c["account_id"] for c in changes]).values_list("pk", "cloudflare_id")
    )
    for change in changes:
        change["account"] = names.get(change.pop("account_id"), "")
    audit.record(
        actor=user,
        account=None,
        action=AuditAction.SSO_ROLES_CHANGED,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"groups": groups, "changes": changes},
    )


def add_mapping(
    actor: User, group: str, account: Account, role: str, ip_address: str | None
) -> SsoRoleMapping:
    """Adds (or changes the role of) a group's mapping on an account; audited."""
    mapping, created = SsoRoleMapping.objects.update_or_create(
        group=group, account=account, defaults={"role": role}
    )
    _audit_mapping(actor, mapping, "added" if created else "changed", ip_address)
    return mapping


def remove_mapping(actor: User, mapping: SsoRoleMapping, ip_address: str | None) -> None:
    _audit_mapping(actor, mapping, "removed", ip_address)
    mapping.delete()


def _audit_mapping(actor: User, mapping: SsoRoleMapping, change: str, ip_address: str | None) -> None:
    audit.record(
        actor=actor,
        account=mapping.account,
        action=AuditAction.SSO_MAPPING_CHANGE,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"change": change, "group": mapping.group, "role": mapping.role},
        ip_address=ip_address,
    )
