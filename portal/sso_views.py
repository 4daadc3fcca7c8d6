"""Pages of single sign-on: off to the provider, back from it, and the superusers' groups → roles mapping."""

import logging
from typing import Any, cast

import requests
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from billing import audit
from billing.models import Account, AuditAction, AuditOutcome, ProviderSecondFactor, Role, SsoRoleMapping
from billing.permissions import AuthenticatedHttpRequest, sudo_required
from portal import sso_roles, sudo

logger = logging.getLogger(__name__)

# Set when a signed-in person goes to the provider to confirm it is them (sudo): their id and when.
REAUTH_SESSION_KEY = "sso_reauth"


def _sso_on() -> None:
    if not settings.SSO_ENABLED:
        raise Http404("Single sign-on is not configured.")


@method_decorator([login_not_required, never_cache], name="dispatch")
class SignInAtProvider(OIDCAuthenticationRequestView):
    """Off to the provider (state, nonce and PKCE kept in the session). `?reauth=1` from a signed-in
    person asks the provider to sign them in again (prompt=login), which opens the sudo window."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _sso_on()
        return super().get(request)

    def get_extra_params(self, request: HttpRequest) -> dict[str, Any]:
        if request.GET.get("reauth") == "1" and request.user.is_authenticated:
            request.session[REAUTH_SESSION_KEY] = [request.user.pk, int(timezone.now().timestamp())]
            return {"prompt": "login", "max_age": "0"}
        return {}


@method_decorator([login_not_required, never_cache], name="dispatch")
class ProviderCallback(OIDCAuthenticationCallbackView):
    """Back from the provider: a refused state, nonce or ID token, or a provider that cannot be reached,
    ends on the log-in page with the reason, never on an error page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _sso_on()
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            reason = str(exc)
        except requests.RequestException as exc:
            reason = f"the identity provider could not be reached or refused the code ({type(exc).__name__})"
        logger.warning("single sign-on refused: %s", reason)
        return self._refused(f"Single sign-on was refused: {reason}. Nothing was signed in; try again.")

    def login_failure(self) -> HttpResponse:
        return self._refused("Single sign-on did not sign you in. Try again, or ask your administrator.")

    def _refused(self, message: str) -> HttpResponse:
        messages.error(self.request, message)
        return redirect("login")

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        request, user = self.request, self.user
        if getattr(user, "sso_mfa", False):
            device, _ = ProviderSecondFactor.objects.get_or_create(
                user=user, defaults={"name": "Identity provider", "confirmed": True}
            )
            otp_login(request, device)
        self._open_sudo_if_fresh()
        audit.record(
            actor=user,
            account=None,
            action=AuditAction.SSO_SIGNIN,
            outcome=AuditOutcome.SUCCEEDED,
            parameters={
                "groups": getattr(user, "sso_groups", []),
                "provider_mfa": getattr(user, "sso_mfa", False),
            },
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        return response

    def _open_sudo_if_fresh(self) -> None:
        request = cast(AuthenticatedHttpRequest, self.request)
        asked = request.session.pop(REAUTH_SESSION_KEY, None)
        # The backend's user carries what the provider said (request.user may be another copy of them).
        user = self.user
        auth_time = getattr(user, "sso_auth_time", None)
        if user is None or not asked or asked[0] != user.pk or not isinstance(auth_time, int):
            return
        if auth_time >= asked[1] - 5:  # signed in at the provider after the portal asked (a little skew)
            sudo.open_window(request, how="identity provider sign-in")


class MappingForm(forms.Form):
    group = forms.CharField(label="Group (value of the claim)", max_length=255)
    account = forms.ModelChoiceField(queryset=Account.objects.filter(is_active=True), label="Account")
    role = forms.ChoiceField(choices=Role.choices, label="Role")


@sudo_required  # it grants roles
@never_cache
def role_mapping(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Superusers: which provider groups give which role on which account."""
    if not request.user.is_superuser:
        raise Http404("No such page.")
    ip = request.META.get("REMOTE_ADDR")
    form = MappingForm(request.POST or None)
    if request.method == "POST" and "remove" in request.POST:
        raw = request.POST["remove"]
        if not (raw.isascii() and raw.isdigit()):
            raise Http404("No such mapping.")
        mapping = get_object_or_404(SsoRoleMapping, pk=int(raw))
        sso_roles.remove_mapping(request.user, mapping, ip)
        messages.success(request, f"“{mapping.group}” no longer gives a role on {mapping.account}.")
        return redirect("sso_roles")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mapping = sso_roles.add_mapping(request.user, data["group"], data["account"], data["role"], ip)
        messages.success(
            request, f"“{mapping.group}” gives {mapping.get_role_display()} on {mapping.account}."
        )
        return redirect("sso_roles")
    context = {
        "form": form,
        "mappings": SsoRoleMapping.objects.select_related("account"),
        "claim": settings.SSO_ROLES_CLAIM,
        "sso_enabled": settings.SSO_ENABLED,
    }
    return render(request, "registration/sso_roles.html", context)
