"""Invitations: a single-use link, emailed through the outbox, that gives a role on one account until it
expires (INVITATION_VALID_HOURS). Only the token's SHA-256 is stored; the link is accepted once, by a
conditional update, so two clicks (or two tabs) cannot both use it."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing import audit
from billing.models import Account, AccountAccess, AuditAction, AuditOutcome, Invitation, Role
from billing.notifications import outbox
from billing.permissions import rank


class InvitationUnusable(Exception):
    """The link cannot be used (unknown, already used, replaced or expired); the message says which."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    actor: User, email: str, account: Account, role: str, *, ip_address: str | None = None
) -> Invitation:
    """Stores an invitation (replacing any pending one of the same address to the account), emails its link
    and audits it; returns the invitation. The email is sent at once; when the server is down the outbox
    retries it."""
    now = timezone.now()
    email = email.strip().lower()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.pending(now).filter(email=email, account=account).update(revoked_at=now)
        invitation = Invitation.objects.create(
            email=email,
            account=account,
            role=role,
            token_hash=token_hash(token),
            invited_by=actor,
            expires_at=now + timedelta(hours=settings.INVITATION_VALID_HOURS),
        )
        context = {
            "invitation": invitation,
            "role_label": Role(role).label,
            "invited_by": actor.get_full_name() or actor.get_username(),
            "link": settings.PORTAL_BASE_URL + reverse("invitation_accept", args=[token]),
        }
        queued = outbox.queue_email("invitation", context, [email], account=account)
        audit.record(
            actor=actor,
            account=account,
            action=AuditAction.PERSON_INVITED,
            outcome=AuditOutcome.QUEUED,
            parameters={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
            ip_address=ip_address,
        )
    if queued is not None:
        outbox.send_now(queued.pk)
    return invitation


def usable(token: str) -> Invitation:
    """The invitation of this link, while it can be accepted; raises InvitationUnusable saying why not."""
    invitation = Invitation.objects.select_related("account").filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusable("This invitation link is not valid. Check that it was copied whole.")
    if invitation.accepted_at is not None:
        raise InvitationUnusable("This invitation was already used. Sign in, or ask an admin for a new one.")
    if invitation.revoked_at is not None:
        raise InvitationUnusable("A newer invitation replaced this one: use the link in the latest email.")
    if invitation.expires_at <= timezone.now():
        expired = f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC"
        raise InvitationUnusable(f"This invitation expired at {expired}: ask an admin for a new one.")
    if not invitation.account.is_active:
        raise InvitationUnusable("The account of this invitation is no longer in the portal.")
    return invitation


def existing_person(invitation: Invitation) -> User | None:
    """The person who already has a log-in with the invitation's address (they accept signed in)."""
    people = get_user_model().objects.filter(email__iexact=invitation.email, is_active=True)
    return people.order_by("pk").first()


def accept(invitation: Invitation, person: User, *, ip_address: str | None = None) -> None:
    """Gives `person` the invitation's role on its account (never lowering a role they already have) and
    uses the link up; raises InvitationUnusable when it was used or expired meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Invitation.objects.pending(now)
            .filter(pk=invitation.pk)
            .update(accepted_at=now, accepted_by=person)
        )
        if claimed != 1:
            raise InvitationUnusable("This invitation was already used or has expired: ask for a new one.")
        grant = AccountAccess.objects.filter(user=person, account=invitation.account).first()
        before = grant.role if grant else None
        after = before if before and rank(before) >= rank(invitation.role) else invitation.role
        AccountAccess.objects.update_or_create(
            user=person, account=invitation.account, defaults={"role": after}
        )
        audit.record(
            actor=person,
            account=invitation.account,
            action=AuditAction.INVITATION_ACCEPTED,
            outcome=AuditOutcome.SUCCEEDED,
            parameters={"email": invitation.email, "before": before, "after": after},
            ip_address=ip_address,
        )


def accept_as_new(
    invitation: Invitation, username: str, password: str, *, ip_address: str | None = None
) -> User:
    """Creates the person's log-in (with the invitation's address) and accepts; returns them. Nothing is
    created when the invitation cannot be accepted."""
    with transaction.atomic():
        person = get_user_model().objects.create_user(username, email=invitation.email, password=password)
        accept(invitation, person, ip_address=ip_address)
    return person


def new_person_draft(invitation: Invitation) -> User:
    """An unsaved person with the invitation's address, so the password checks can compare against it."""
    return get_user_model()(email=invitation.email)
