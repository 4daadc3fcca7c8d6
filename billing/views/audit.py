import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from billing import csv_cells
from billing.forms.filters import AuditFilterForm
from billing.models import AuditEntry
from billing.permissions import AuthenticatedHttpRequest, audit_accounts_for, is_admin_anywhere

PER_PAGE = 50
EXPORT_COLUMNS = (
    "id",
    "created_at_utc",
    "actor",
    "account_cloudflare_id",
    "action",
    "outcome",
    "parameters",
    "error",
    "ip_address",
    "user_agent",
    "previous_hash",
    "entry_hash",
)


def audit_log(request: AuthenticatedHttpRequest) -> HttpResponseBase:
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
    export = request.GET.get("format", "")
    if export in EXPORTS:
        return _export(entries, export)
    page = Paginator(entries.select_related("account"), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "billing/audit.html", {"form": form, "page": page, "filter_query": query.urlencode()}
    )


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "created_at_utc": entry.created_at.astimezone(UTC).isoformat(),
        "actor": entry.actor_name,
        "account_cloudflare_id": entry.account_cloudflare_id,
        "action": entry.action,
        "outcome": entry.outcome,
        "parameters": entry.parameters,
        "error": entry.error,
        "ip_address": entry.ip_address or "",
        "user_agent": entry.user_agent,
        "previous_hash": entry.previous_hash,
        "entry_hash": entry.entry_hash,
    }


def _csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    yield csv_cells.line(EXPORT_COLUMNS)
    for entry in entries.iterator(chunk_size=2000):
        row = _row(entry)
        row["parameters"] = json.dumps(row["parameters"], sort_keys=True, ensure_ascii=False)
        yield csv_cells.line(str(row[name]) if name != "id" else row[name] for name in EXPORT_COLUMNS)


def _json_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    for entry in entries.iterator(chunk_size=2000):
        yield json.dumps(_row(entry), ensure_ascii=False, sort_keys=True) + "\n"


EXPORTS = {
    "csv": (_csv_lines, "text/csv; charset=utf-8", "csv"),
    "jsonl": (_json_lines, "application/jsonl; charset=utf-8", "jsonl"),
}


def _export(entries: QuerySet[AuditEntry], export: str) -> StreamingHttpResponse:
    """The filtered entries, oldest first, streamed: CSV (parameters as JSON in one cell) or JSON Lines.
    Each line carries the entry's previous hash and its own, so the chain can be checked from the file."""
    lines, content_type, extension = EXPORTS[export]
    response = StreamingHttpResponse(lines(entries.order_by("id")), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M}.{extension}"'
    return response
