"""Personal access tokens: made by a person, shown once, kept as a SHA-256 digest, read-only, limited to the
accounts their person may see at the time of each request (and, when chosen, to fewer).

A token reads `agbp_` followed by 43 URL-safe characters (256 random bits): the prefix lets secret scanners
and people recognise it; its digest needs no salt or slow hash, as it is too long to guess."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, Q, QuerySet
from django.utils import timezone

from billing import audit
from billing.models import Account, ApiToken, AuditAction, AuditOutcome
from billing.permissions import accounts_for

if TYPE_CHECKING:
    from billing.permissions import AccountWithRole

PREFIX = "agbp_"
HINT_LENGTH = 6


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create(
    *, user: User, name: str, days: int, accounts: Iterable[Account] = (), ip_address: str | None = None
) -> tuple[ApiToken, str]:
    """Makes a token for `user` valid for `days`, limited to `accounts` when any (of those the person may
    see); returns it and its secret, which is never stored and cannot be shown again. Audited. Raises
    ValueError when accounts are asked for and the person may see none of them (no token for "all" then)."""
    asked = [account.pk for account in accounts]
    chosen = list(accounts_for(user).filter(pk__in=asked))
    if asked and not chosen:
        raise ValueError("None of the chosen accounts is one you may see.")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        hint=secret[len(PREFIX) : len(PREFIX) + HINT_LENGTH],
        digest=digest_of(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    token.accounts.set(chosen)
    audit.record(
        actor=user,
        account=None,
        action=AuditAction.API_TOKEN_CREATE,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={
            "token": token.pk,
            "name": name,
            "hint": token.hint,
            "expires_at": token.expires_at.isoformat(),
            "accounts": [account.cloudflare_id for account in chosen] or "all the person's accounts",
        },
        ip_address=ip_address,
    )
    return token, secret


def revoke(token: ApiToken, *, actor: User, ip_address: str | None = None) -> bool:
    """Revokes the token at once; False when it was already revoked. Audited when it changes."""
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    audit.record(
        actor=actor,
        account=None,
        action=AuditAction.API_TOKEN_REVOKE,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"token": token.pk, "name": token.name, "hint": token.hint, "owner": token.user.username},
        ip_address=ip_address,
    )
    return True


def usable(secret: str, now: datetime) -> ApiToken | None:
    """The token this secret opens, if it is neither revoked nor expired and its person may still sign in;
    else None. One query."""
    if not secret.startswith(PREFIX):
        return None
    return (
        ApiToken.objects.select_related("user")
        .filter(digest=digest_of(secret), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )


def mark_used(token: ApiToken, now: datetime) -> None:
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def readable_accounts(token: ApiToken) -> QuerySet[AccountWithRole]:
    """The accounts the token reads now: those its person may see at this moment (so removing a person's
    access stops their tokens at once), narrowed to the token's chosen accounts when it has any."""
    chosen = ApiToken.accounts.through.objects.filter(apitoken=token).values("account_id")
    return accounts_for(token.user).filter(Q(pk__in=chosen) | ~Exists(chosen))
