"""Sign-in throttling on django-axes: the portal's limits, its 429 page, and lock-outs in the audit log.

Axes counts failed log-ins (portal and Django admin alike, through its authentication backend) per
username and per (username, address), never per address alone: behind a reverse proxy everyone shares
one address, and one person's typos must not lock the company out.
"""

from datetime import timedelta
from typing import Any

from axes.signals import user_locked_out
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing import audit
from billing.models import AuditAction, AuditOutcome

LOCKED_OUT_MESSAGE = "Too many failed log-ins for this username."


def failure_limit(request: HttpRequest | None, credentials: dict[str, Any] | None) -> int:
    """Failures that lock a username (AXES_FAILURE_LIMIT), read at each attempt so tests may change it."""
    return settings.LOGIN_MAX_FAILURES


def cool_off(request: HttpRequest | None) -> timedelta:
    """How long a lock-out lasts after the failure that caused it (AXES_COOLOFF_TIME)."""
    return timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def username_tried(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The username a sign-in tried, as axes records it (AXES_USERNAME_CALLABLE): cut to the longest
    username there can be, so an overlong one is one more wrong username, not a failed database write."""
    typed = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(typed).replace("\x00", "")[: User._meta.get_field("username").max_length]


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The answer to a locked username, on the portal's and the admin's log-in alike: 429 and a clear page."""
    minutes = max(1, round(settings.LOGIN_FAILURE_WINDOW_SECONDS / 60))
    context = {"message": LOCKED_OUT_MESSAGE, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


def _user_named(username: str | None) -> User | None:
    if not username:
        return None
    return get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()


@receiver(user_locked_out)
def record_lockout(
    sender: object, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: object
) -> None:
    """Audits the failure that locks a username; attempts refused while it stays locked are not entries."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return  # refused while already locked: axes did not count this attempt
    # Who acted is whoever typed the password, not the person whose username it is: nobody signed in.
    audit.record(
        actor=None,
        actor_name=f"not signed in, as “{(username or '')[:100]}”",
        account=None,
        action=AuditAction.SIGNIN_LOCKOUT,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={
            "username": username or "",
            "failures": failures,
            "path": request.path,
        },
        ip_address=ip_address,
    )


def unlock(username: str, *, by: audit.Actor, ip_address: str | None = None) -> int:
    """Forgets every failed attempt of `username` so it may log in at once; audited. Returns rows removed."""
    removed = reset(username=username)
    audit.record(
        actor=by,
        account=None,
        action=AuditAction.SIGNIN_UNLOCK,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"username": username, "attempts_removed": removed},
        ip_address=ip_address,
    )
    return removed
