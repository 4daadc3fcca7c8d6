from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing import operations
from billing.models import Role
from billing.permissions import get_account_for
from billing.views.common import client_ip


@require_POST
def refresh(request: HttpRequest, account_id: str) -> HttpResponse:
    """Syncs one account now ("Refresh now", managers), then goes back to where the person was."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    try:
        operations.refresh_account(account, request.user, ip_address=client_ip(request))
    except operations.OperationError as exc:
        messages.error(request, f"Refresh failed: {exc.message} The page shows the last data synced.")
    else:
        messages.success(request, f"{account.name} is up to date.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("account", account_id=account.cloudflare_id)
