from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from billing.forms.filters import AuditFilterForm
from billing.models import AuditEntry
from billing.permissions import AuthenticatedHttpRequest, audit_accounts_for, is_admin_anywhere

PER_PAGE = 50


def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Audit entries of the accounts the person administers (every entry for superusers)."""
    if not is_admin_anywhere(request.user):
        raise PermissionDenied("The audit log is for admins.")
    accounts = audit_accounts_for(request.user).order_by("name")
    form = AuditFilterForm(request.GET or None, accounts=accounts)
    entries = AuditEntry.objects.all()
    if not request.user.is_superuser:
        entries = entries.filter(account_cloudflare_id__in=accounts.values("cloudflare_id"))
    if form.is_valid():
        if form.cleaned_data["account"]:
            entries = entries.filter(account_cloudflare_id=form.cleaned_data["account"].cloudflare_id)
        if form.cleaned_data["person"]:
            entries = entries.filter(actor_name__icontains=form.cleaned_data["person"])
        if form.cleaned_data["action"]:
            entries = entries.filter(action=form.cleaned_data["action"])
    page = Paginator(entries.select_related("account"), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "billing/audit.html", {"form": form, "page": page, "filter_query": query.urlencode()}
    )
