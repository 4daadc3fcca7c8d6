"""Pages of two-factor sign-in: the code step after the password, and enrolment / status."""

from django import forms
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.permissions import AuthenticatedHttpRequest
from portal import two_factor


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
        if two_factor.verify(request, form.cleaned_data["code"]):
            return redirect(_next_url(request))
        form.add_error("code", "That code is not right (or was used already). Try the current one.")
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
        if codes is not None:
            return render(request, "registration/two_factor_codes.html", {"codes": codes, "enrolled": True})
        form.add_error("code", "That code is not right. Check the clock of your phone and try again.")
    context = {
        "form": form,
        "qr_svg": two_factor.qr_svg(device),
        "secret": two_factor.secret_text(device),
        "required": two_factor.must_use(request.user),
        "next": _next_url(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


@require_POST
def renew_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not two_factor.is_enrolled(request.user):
        return redirect("two_factor")
    codes = two_factor.renew_recovery_codes(request)
    return render(request, "registration/two_factor_codes.html", {"codes": codes, "enrolled": False})


@require_POST
def disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    if two_factor.disable(request):
        messages.success(request, "Two-factor sign-in is off.")
    else:
        messages.error(request, "Two-factor sign-in is required for your access: it cannot be turned off.")
    return redirect("two_factor")
