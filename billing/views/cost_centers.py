"""Cost centers of an account: everyone with access reads them; its admins add, change and remove them."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.forms.cost_centers import CostCenterForm
from billing.models import CostCenter, Role
from billing.operations.cost_centers import delete_cost_center, save_cost_center
from billing.permissions import AuthenticatedHttpRequest, can_administer, get_account_for
from billing.views.common import account_context, client_ip


def cost_centers(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    context = account_context(
        account,
        "statement",
        centers=list(CostCenter.objects.filter(account=account)),
        can_administer=can_administer(account),
    )
    return render(request, "billing/cost_centers.html", context)


def cost_center_edit(
    request: AuthenticatedHttpRequest, account_id: str, pk: int | None = None
) -> HttpResponse:
    account = get_account_for(request.user, account_id, need=Role.ADMIN)
    center = get_object_or_404(CostCenter, account=account, pk=pk) if pk is not None else None
    form = CostCenterForm(request.POST or None, account=account, instance=center)
    if request.method == "POST" and form.is_valid():
        save_cost_center(account, request.user, form.cleaned_data, center, client_ip(request))
        return redirect("cost_centers", account.cloudflare_id)
    context = account_context(account, "statement", form=form, center=center)
    return render(request, "billing/cost_center_form.html", context)


@require_POST
def cost_center_delete(request: AuthenticatedHttpRequest, account_id: str, pk: int) -> HttpResponse:
    account = get_account_for(request.user, account_id, need=Role.ADMIN)
    center = get_object_or_404(CostCenter, account=account, pk=pk)
    delete_cost_center(account, request.user, center, client_ip(request))
    return redirect("cost_centers", account.cloudflare_id)
