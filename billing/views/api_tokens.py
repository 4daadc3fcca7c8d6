"""The signed-in person's personal access tokens for the read-only API: make one (shown once), revoke one."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.api import tokens
from billing.forms.api_tokens import ApiTokenForm
from billing.models import ApiToken
from billing.permissions import AuthenticatedHttpRequest
from billing.views.common import client_ip


@never_cache  # the page that shows a new token's secret must not be kept by any cache
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None, user=request.user)
    secret = ""
    if request.method == "POST" and form.is_valid():
        secret = _create(request, form)
        if secret:
            form = ApiTokenForm(user=request.user)
    rows = ApiToken.objects.filter(user=request.user).prefetch_related("accounts")
    status = 400 if form.errors else 200
    context = {
        "form": form,
        "secret": secret,
        "tokens": rows,
        "now": timezone.now(),
        "rate_limit": settings.API_RATE_LIMIT_PER_MINUTE,
    }
    return render(request, "billing/api_tokens.html", context, status=status)


def _create(request: AuthenticatedHttpRequest, form: ApiTokenForm) -> str:
    """The new token's secret, or "" with the refusal on the form (access removed since it was shown)."""
    data = form.cleaned_data
    try:
        return tokens.create(
            user=request.user,
            name=data["name"],
            days=data["days"],
            accounts=data["accounts"],
            ip_address=client_ip(request),
        )[1]
    except ValueError as refusal:
        form.add_error("accounts", str(refusal))
        return ""


@require_POST
def api_token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if token is None:
        raise Http404("No such token.")
    if tokens.revoke(token, actor=request.user, ip_address=client_ip(request)):
        messages.success(request, f"Revoked “{token.name}”: it stops working at once.")
    return redirect("api_tokens")
