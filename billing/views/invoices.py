from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.figures.invoices import period_totals
from billing.forms.filters import InvoiceFilterForm
from billing.models import InvoiceLine, InvoiceListing, InvoicePreview, SyncJob, SyncRun
from billing.permissions import get_account_for
from billing.views.common import account_context

PER_PAGE = 25


def invoices(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    form = InvoiceFilterForm(request.GET or None)
    kind = form.cleaned_data.get("type") if form.is_valid() else ""
    rows = account.invoices.all()
    if kind and kind != "all":
        rows = rows.filter(invoice_type=kind)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = account_context(
        account,
        "invoices",
        form=form,
        kind=kind or "all",
        page=page,
        filter_query=query.urlencode(),
        preview=InvoicePreview.objects.filter(account=account).first(),
        periods=InvoiceLine.objects.periods(account),
        shortfall=InvoiceListing.objects.shortfall(account, kind or "all"),
        table_as_of=SyncRun.objects.last_success_at(account, SyncJob.INVOICES),
    )
    return render(request, "billing/invoices.html", context)


def invoice_upcoming(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    preview = InvoicePreview.objects.filter(account=account).prefetch_related("lines").first()
    lines = list(preview.lines.all()) if preview else []
    return render(
        request,
        "billing/invoice_upcoming.html",
        account_context(
            account,
            "invoices",
            preview=preview,
            lines=lines,
            totals=period_totals(lines),
            table_as_of=SyncRun.objects.last_success_at(account, SyncJob.INVOICES),
        ),
    )
