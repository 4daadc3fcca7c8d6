"""One invoice: a credit purchase (its credit and fee where the portal knows them), or a billing period's
usage invoice (its lines: periods, quantities, unit prices, credits applied)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from billing.figures.invoices import period_totals, purchases_of
from billing.models import InvoiceLine, SyncJob, SyncRun
from billing.permissions import get_account_for
from billing.views.common import account_context
from billing.views.period import period_from_slug


def invoice_detail(request: HttpRequest, account_id: str, invoice_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    invoice = get_object_or_404(account.invoices, invoice_id=invoice_id)
    context = account_context(
        account,
        "invoices",
        invoice=invoice,
        purchase=purchases_of([invoice]).get((account.pk, invoice.invoice_id)),
        table_as_of=SyncRun.objects.last_success_at(account, SyncJob.INVOICES),
    )
    return render(request, "billing/invoice_detail.html", context)


def usage_invoice(request: HttpRequest, account_id: str, period: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    chosen = period_from_slug(account, period)
    lines = list(InvoiceLine.objects.of_period(account, chosen.start))
    context = account_context(
        account,
        "invoices",
        period_start=chosen.start,
        period_end=chosen.end,
        period_slug=chosen.slug,
        lines=lines,
        totals=period_totals(lines),
        read_at=max(line.synced_at for line in lines),
        currency=lines[0].currency,
        table_as_of=SyncRun.objects.last_success_at(account, SyncJob.INVOICES),
    )
    return render(request, "billing/usage_invoice.html", context)
