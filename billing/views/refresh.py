from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing import operations
from billing.models import Role
from billing.permissions import get_account_for
from billing.views.common import client_ip


@require_POST
def refresh(request: HttpRequest, account_id: str) -> HttpResponse:
    """Queues a full sync of one account ("Refresh now", managers) and goes back to where the person was;
    that page shows the refresh as queued, running, done or failed, and reloads itself until it ends."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    run, queued = operations.queue_refresh(account, request.user, ip_address=client_ip(request))
    # Only the person who asked is told when it is done (not everyone who opens the account meanwhile).
    asked = operations.REFRESHES_ASKED
    request.session[asked] = [*request.session.get(asked, [])[-4:], run.pk]
    if not queued:
        messages.info(request, f"A refresh of {account.name} is already under way.")
    target = request.POST.get("next", "")
    # A path of this site only: `redirect` would read any other text as a view's name.
    local = target.startswith("/") and target.isprintable() and " " not in target
    if local and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return redirect("account", account_id=account.cloudflare_id)
