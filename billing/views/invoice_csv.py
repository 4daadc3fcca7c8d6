"""The invoices CSV: of one account, or of every account the person can see, in one file."""

from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from billing.figures.invoices import purchases_of
from billing.models import Account, Invoice
from billing.money import round_cents
from billing.permissions import accounts_for, get_account_for
from billing.views.csv_stream import csv_response

HEADER = (
    "account_id",
    "account_name",
    "invoice_number",
    "invoice_type",
    "created_utc",
    "status",
    "currency",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "credit_purchased",
    "purchase_fee",
    "description",
    "pdf_url",
)


def invoices_csv(request: HttpRequest, account_id: str) -> StreamingHttpResponse:
    account = get_account_for(request.user, account_id)
    filename = f"invoices-{account.cloudflare_id[:8]}-{timezone.now():%Y%m%d}.csv"
    return csv_response(filename, HEADER, _rows(Invoice.objects.filter(account=account)))


def all_invoices_csv(request: HttpRequest) -> StreamingHttpResponse:
    accounts = accounts_for(request.user).values("pk")
    filename = f"invoices-all-accounts-{timezone.now():%Y%m%d}.csv"
    return csv_response(filename, HEADER, _rows(Invoice.objects.filter(account__in=accounts)))


def _rows(invoices) -> Iterator[tuple]:
    """One row per invoice, by account name then newest first. The credit and fee are blank where the portal
    does not know them (see billing/figures/invoices.py)."""
    rows = list(invoices.select_related("account").order_by("account__name", "account_id", "-created", "-id"))
    purchases = purchases_of(rows)
    for invoice in rows:
        account: Account = invoice.account
        purchase = purchases.get((invoice.account_id, invoice.invoice_id))
        yield (
            account.cloudflare_id,
            account.name,
            invoice.invoice_id,
            invoice.invoice_type,
            invoice.created.isoformat() if invoice.created else "",
            invoice.status,
            invoice.currency.upper(),
            round_cents(invoice.amount_due),
            round_cents(invoice.amount_paid),
            round_cents(invoice.amount_remaining),
            round_cents(purchase.credit) if purchase else "",
            round_cents(purchase.fee) if purchase else "",
            invoice.description,
            invoice.invoice_pdf,
        )
