"""Sudo mode: actions that a stolen session must not be able to take ask for the password and a current
code again, then stay open for a short window (SUDO_WINDOW_SECONDS), as GitHub does.

A view is marked with `billing.permissions.sudo_required`; `SudoMiddleware` sends its POSTs (and other
unsafe methods) outside the window to the confirmation page, which returns to the page the person came
from. People who sign in with single sign-on and have no local password confirm with their authenticator
code, or by signing in at the provider again.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from billing import audit
from billing.models import AuditAction, AuditOutcome
from billing.permissions import AuthenticatedHttpRequest
from portal import two_factor

SESSION_KEY = "sudo_until"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def is_open(request: HttpRequest) -> bool:
    until = request.session.get(SESSION_KEY)
    return isinstance(until, float) and timezone.now().timestamp() < until


def open_window(request: AuthenticatedHttpRequest, *, how: str) -> None:
    """Opens the window for this session, audited with how the person proved themselves."""
    request.session[SESSION_KEY] = timezone.now().timestamp() + float(settings.SUDO_WINDOW_SECONDS)
    audit.record(
        actor=request.user,
        account=None,
        action=AuditAction.SUDO_CONFIRMED,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"how": how, "window_seconds": settings.SUDO_WINDOW_SECONDS},
        ip_address=request.META.get("REMOTE_ADDR"),
    )


class SudoMiddleware:
    """After the two-factor gate: lets a marked view's unsafe requests through only inside the window."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseRedirect | None:
        if not getattr(view_func, "sudo_required", False) or request.method in SAFE_METHODS:
            return None
        if not request.user.is_authenticated or is_open(request):
            return None
        return redirect_to_confirm(request)


def redirect_to_confirm(request: HttpRequest) -> HttpResponseRedirect:
    """To the confirmation page, which comes back to the page whose form was sent (its Referer, when it is
    one of the portal's), where the person presses the button again."""
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = resolve_url("overview")
    return HttpResponseRedirect(f"{resolve_url('sudo')}?{urlencode({'next': back})}")


def needs_password(user: User) -> bool:
    return user.has_usable_password()


def confirm(request: AuthenticatedHttpRequest, password: str, code: str) -> str | None:
    """Checks the password (when the person has one; failures count towards the sign-in lock-out) and a
    current code (when enrolled), then opens the window. Returns None, or what was wrong."""
    user = request.user
    if needs_password(user):
        checked = authenticate(request, username=user.get_username(), password=password)
        if checked is None or checked.pk != user.pk:
            return "That password is not right."
    if two_factor.is_enrolled(user):
        device = two_factor.check_code(user, code)
        if isinstance(device, two_factor.Refusal):
            return device.message
    elif not needs_password(user):
        return "Confirm by signing in at your identity provider again."
    proofs = ("password" if needs_password(user) else "", "code" if two_factor.is_enrolled(user) else "")
    open_window(request, how=" and ".join(proof for proof in proofs if proof))
    return None
