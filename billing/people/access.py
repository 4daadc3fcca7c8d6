"""Giving, changing and removing a person's role on an account; every change audited (before and after).

Removing access also raises the person's access generation, so every session they have open (and every API
token made before) stops working at its next request (`billing.permissions.still_has_access`).
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from billing import audit
from billing.models import AccessGeneration, Account, AccountAccess, AuditAction, AuditOutcome


class AccessChangeRefused(Exception):
    """A change the portal will not make; the message says why, for the person who asked."""


def _refuse_own(actor: User, person: User) -> None:
    # An admin lowering or removing their own role could leave an account nobody may manage.
    if actor.pk == person.pk and not actor.is_superuser:
        raise AccessChangeRefused("You cannot change your own access: ask another admin.")


def _audit(actor: User, person: User, account: Account, action: str, before, after, ip: str | None) -> None:
    audit.record(
        actor=actor,
        account=account,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"person": person.get_username(), "email": person.email, "before": before, "after": after},
        ip_address=ip,
    )


def set_role(
    actor: User, person: User, account: Account, role: str, *, ip_address: str | None = None
) -> bool:
    """Gives `person` `role` on `account`, or changes the role they have; False when it was already theirs.
    Raises AccessChangeRefused for one's own role."""
    _refuse_own(actor, person)
    with transaction.atomic():
        grant = AccountAccess.objects.select_for_update().filter(user=person, account=account).first()
        before = grant.role if grant else None
        if before == role:
            return False
        AccountAccess.objects.update_or_create(user=person, account=account, defaults={"role": role})
        _audit(actor, person, account, AuditAction.PERSON_ROLE_SET, before, role, ip_address)
    return True


def remove_access(actor: User, person: User, account: Account, *, ip_address: str | None = None) -> bool:
    """Removes `person`'s role on `account` and signs them out everywhere; False when they had none.
    Raises AccessChangeRefused for one's own access."""
    _refuse_own(actor, person)
    with transaction.atomic():
        grant = AccountAccess.objects.select_for_update().filter(user=person, account=account).first()
        if grant is None:
            return False
        before = grant.role
        grant.delete()
        sign_out_everywhere(person)
        _audit(actor, person, account, AuditAction.PERSON_ACCESS_REMOVED, before, None, ip_address)
    return True


def sign_out_everywhere(person: User) -> None:
    """Raises the person's access generation: their sessions and earlier API tokens stop working at once."""
    AccessGeneration.objects.get_or_create(user=person)
    AccessGeneration.objects.filter(user=person).update(value=F("value") + 1)
