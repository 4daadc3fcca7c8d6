"""Two-factor sign-in on django-otp: who must use it, the authenticator and its recovery codes, the gate.

A person is *enrolled* once they have a confirmed authenticator (TOTP device); ten single-use recovery codes
(a static device) come with it. The gate (`TwoFactorMiddleware`) lets an enrolled person's session reach
no page before the code step, and sends those who must use two-factor but are not enrolled to enrolment.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import segno
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp import match_token

from billing import audit
from billing.models import AccountAccess, AuditAction, AuditOutcome, Authenticator, RecoveryCodes, Role
from billing.permissions import AuthenticatedHttpRequest, Person

MONEY_ROLES = (Role.MANAGER, Role.ADMIN)


class _Verifiable(Protocol):
    def is_verified(self) -> bool: ...


def is_verified(user: Person) -> bool:
    """Whether this session passed the code step. django-otp's OTPMiddleware gives `request.user` the
    method; the user classes do not declare it."""
    return cast(_Verifiable, user).is_verified()


def must_use(user: Person) -> bool:
    """True when REQUIRE_2FA applies to `user`: superusers, staff (the admin), managers and admins of an
    account, that is everyone who can move money or change who can."""
    if not settings.REQUIRE_2FA or not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return AccountAccess.objects.filter(user=user, role__in=MONEY_ROLES).exists()


def is_enrolled(user: User) -> bool:
    return Authenticator.objects.filter(user=user, confirmed=True).exists()


def is_satisfied(request: HttpRequest) -> bool:
    """True when this session may use the portal: verified by a code, or neither enrolled nor obliged."""
    user = request.user
    if not user.is_authenticated:
        return False  # nobody signed in (the admin asks only once has_permission found a person)
    if is_verified(user):
        return True
    return not is_enrolled(user) and not must_use(user)


# --- Enrolment ----------------------------------------------------------------------------------
def pending_device(user: User) -> Authenticator:
    """The authenticator being enrolled (not yet confirmed); made on first call, the same one after."""
    device = Authenticator.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or Authenticator.new_for(user)


def secret_text(device: Authenticator) -> str:
    """The device's secret as an authenticator app takes it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: Authenticator) -> SafeString:
    """The otpauth:// address as an inline SVG QR code, drawn here (no request leaves the server)."""
    svg = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, svgclass="qr-code")
    return mark_safe(svg)  # noqa: S308  (segno's own markup; the address is XML-escaped by segno)


@dataclass(frozen=True)
class Refusal:
    """Why a code was not accepted, as the person is told."""

    message: str
    throttled_until: datetime | None = None


WRONG_CODE = Refusal("That code is not right (or was used already). Try the current one.")


def confirm(request: AuthenticatedHttpRequest, device: Authenticator, code: str) -> list[str] | Refusal:
    """Confirms the pending authenticator with a current code and verifies this session. Returns the new
    recovery codes (to be shown once), or why the code was refused."""
    throttled = throttle_refusal([device])
    if throttled is not None:
        return throttled
    if not device.verify_token(_clean(code)):
        return Refusal("That code is not right. Check the clock of your phone and try again.")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        Authenticator.objects.filter(user=device.user, confirmed=False).delete()
        codes = _replace_recovery_codes(device.user)
    _verified(request, device)
    _audit(request, AuditAction.TWO_FACTOR_ENROLLED)
    return codes


def renew_recovery_codes(request: AuthenticatedHttpRequest) -> list[str]:
    """New recovery codes for the signed-in person; the old ones stop working. Returns them."""
    codes = _replace_recovery_codes(request.user)
    _audit(request, AuditAction.TWO_FACTOR_RECOVERY_RENEWED)
    return codes


def disable(request: AuthenticatedHttpRequest) -> bool:
    """Removes the authenticator and recovery codes; refused (False) when two-factor is required of them."""
    user = request.user
    if must_use(user):
        return False
    with transaction.atomic():
        Authenticator.objects.filter(user=user).delete()
        RecoveryCodes.objects.filter(user=user).delete()
    _audit(request, AuditAction.TWO_FACTOR_DISABLED)
    return True


def _replace_recovery_codes(user: User) -> list[str]:
    device, _ = RecoveryCodes.objects.get_or_create(user=user, defaults={"name": "Recovery codes"})
    return device.replace_codes()


# --- The second step ----------------------------------------------------------------------------
def verify(request: AuthenticatedHttpRequest, code: str) -> Refusal | None:
    """Checks a code from the authenticator, or a recovery code (used up by this); on success marks the
    session verified under a new session key and returns None, else why the code was refused."""
    device = check_code(request.user, code)
    if isinstance(device, Refusal):
        return device
    _verified(request, device)
    if isinstance(device, RecoveryCodes):
        remaining = device.codes.count()
        _audit(request, AuditAction.TWO_FACTOR_RECOVERY_USED, {"recovery_codes_left": remaining})
    return None


def check_code(user: User, code: str) -> Authenticator | RecoveryCodes | Refusal:
    """The device that accepts `code`, or why none did. django-otp throttles each device after a wrong
    code (1, 2, 4 … seconds); a code sent while the authenticator is throttled is not even compared."""
    throttled = throttle_refusal(Authenticator.objects.filter(user=user, confirmed=True))
    if throttled is not None:
        return throttled
    device = match_token(user, _clean(code))
    if device is None:
        return WRONG_CODE
    return cast(Authenticator | RecoveryCodes, device)


def throttle_refusal(devices: Any) -> Refusal | None:
    """A refusal that names the throttle and how long it lasts, when any of `devices` is throttled."""
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if not allowed and details and details.get("locked_until"):
            until = details["locked_until"]
            seconds = max(1, round((until - timezone.now()).total_seconds()))
            message = (
                f"Too many wrong codes: the portal checks no code for {seconds} more second"
                f"{'s' if seconds != 1 else ''} (a throttle against guessing). "
                "Wait, then type the current code."
            )
            return Refusal(message, until)
    return None


def _verified(request: AuthenticatedHttpRequest, device: Authenticator | RecoveryCodes) -> None:
    otp_login(request, device)
    # A new session key at each step up, as at the password step: a key seen before it is worth nothing.
    request.session.cycle_key()


def _clean(code: str) -> str:
    return "".join(code.split()).lower()


def _audit(request: AuthenticatedHttpRequest, action: str, parameters: dict[str, Any] | None = None) -> None:
    audit.record(
        actor=request.user,
        account=None,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        parameters=parameters,
        ip_address=request.META.get("REMOTE_ADDR"),
    )


# --- The gate -----------------------------------------------------------------------------------
STEP_PAGE = "two_factor_verify"
ENROL_PAGE = "two_factor"


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: a signed-in session that has not passed the code step reaches only
    the code step (when enrolled) or enrolment (when two-factor is required of them), and public pages."""

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
        user = request.user
        if not user.is_authenticated or is_verified(user):
            return None
        if not getattr(view_func, "login_required", True):
            return None  # public pages: log-in, log-out, health check, metrics
        page = request.resolver_match.url_name if request.resolver_match else None
        if is_enrolled(user):
            return None if page == STEP_PAGE else _redirect(STEP_PAGE, request)
        if must_use(user):
            return None if page == ENROL_PAGE else _redirect(ENROL_PAGE, request)
        return None


def _redirect(page: str, request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{resolve_url(page)}?{urlencode({'next': request.get_full_path()})}")
