"""Pages of two-factor sign-in: the code step after the password, and enrolment / status."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.permissions import AuthenticatedHttpRequest, sudo_required
from portal import sudo, two_factor


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if safe else resolve_url("overview")


@never_cache
def verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a recovery code."""
    if not two_factor.is_enrolled(request.user):
        return redirect("two_factor")
    if two_factor.is_verified(request.user):
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        refusal = two_factor.verify(request, form.cleaned_data["code"])
        if refusal is None:
            return redirect(_next_url(request))
        form.add_error("code", refusal.message)
    context = {"form": form, "next": _next_url(request)}
    return render(request, "registration/two_factor_verify.html", context)


@never_cache
def overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enrolment without an authenticator (QR code, secret, confirm with a code); its status with one."""
    if two_factor.is_enrolled(request.user):
        status: dict[str, object] = {"required": two_factor.must_use(request.user)}
        return render(request, "registration/two_factor_status.html", status)
    device = two_factor.pending_device(request.user)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        codes = two_factor.confirm(request, device, form.cleaned_data["code"])
        if isinstance(codes, two_factor.Refusal):
            form.add_error("code", codes.message)
        else:
            return render(request, "registration/two_factor_codes.html", {"codes": codes, "enrolled": True})
    context = {
        "form": form,
        "qr_svg": two_factor.qr_svg(device),
        "secret": two_factor.secret_text(device),
        "required": two_factor.must_use(request.user),
        "next": _next_url(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


@require_POST
@sudo_required
def renew_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not two_factor.is_enrolled(request.user):
        return redirect("two_factor")
    codes = two_factor.renew_recovery_codes(request)
    return render(request, "registration/two_factor_codes.html", {"codes": codes, "enrolled": False})


@require_POST
@sudo_required
def disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    if two_factor.disable(request):
        messages.success(request, "Two-factor sign-in is off.")
    else:
        messages.error(request, "Two-factor sign-in is required for your access: it cannot be turned off.")
    return redirect("two_factor")


class SudoForm(forms.Form):
    password = forms.CharField(label="Password", required=False, strip=False, widget=forms.PasswordInput)
    code = CodeForm.base_fields["code"]


@never_cache
def confirm_sudo(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Asks for the password and a current code again before an action a stolen session must not take."""
    form = SudoForm(request.POST or None)
    if not two_factor.is_enrolled(request.user):
        form.fields["code"].required = False
    if form.is_valid():
        problem = sudo.confirm(request, form.cleaned_data["password"], form.cleaned_data["code"])
        if problem is None:
            messages.success(request, "Confirmed. Now press the button again.")
            return redirect(_next_url(request))
        form.add_error(None, problem)
    context = {
        "form": form,
        "next": _next_url(request),
        "needs_password": sudo.needs_password(request.user),
        "needs_code": two_factor.is_enrolled(request.user),
        "window_minutes": max(1, round(settings.SUDO_WINDOW_SECONDS / 60)),
    }
    return render(request, "registration/sudo.html", context)
