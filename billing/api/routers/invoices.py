"""/accounts/{id}/invoices: the synced invoices, as the invoices page lists them, and the upcoming one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from billing.api.auth import account_of
from billing.api.pages import PageQuery, page_of
from billing.api.schemas import Money, money, utc
from billing.figures.invoices import purchases_of
from billing.models import Invoice, InvoicePreview

router = Router(tags=["invoices"])


class InvoiceOut(Schema):
    id: str  # Cloudflare's invoice id
    type: str  # auto, manual or unknown
    status: str
    created: datetime | None
    amount_due: Money
    amount_paid: Money
    amount_remaining: Money
    description: str
    pdf_url: str


class InvoicePage(Schema):
    count: int
    items: list[InvoiceOut]  # the newest first


class InvoiceQuery(PageQuery):
    type: Literal["all", "auto", "manual"] = "all"


def _invoice(row: Invoice) -> InvoiceOut:
    currency = row.currency
    return InvoiceOut(
        id=row.invoice_id,
        type=row.invoice_type,
        status=row.status,
        created=utc(row.created),
        amount_due=money(row.amount_due, currency),
        amount_paid=money(row.amount_paid, currency),
        amount_remaining=money(row.amount_remaining, currency),
        description=row.description,
        pdf_url=row.invoice_pdf,
    )


@router.get("/accounts/{account_id}/invoices", response=InvoicePage, summary="Invoices")
def invoices(request: HttpRequest, account_id: str, query: Query[InvoiceQuery]) -> InvoicePage:
    account = account_of(request, account_id)
    rows = account.invoices.all()
    if query.type != "all":
        rows = rows.filter(invoice_type=query.type)
    count, found = page_of(rows, query)
    return InvoicePage(count=count, items=[_invoice(row) for row in found])


class UpcomingLine(Schema):
    description: str
    amount: Money
    quantity: str
    period_start: datetime | None
    period_end: datetime | None


class Upcoming(Schema):
    status: str
    period_start: datetime | None
    period_end: datetime | None
    amount_due: Money
    amount_remaining: Money
    synced_at: datetime
    lines: list[UpcomingLine]


@router.get("/accounts/{account_id}/invoices/upcoming", response=Upcoming, summary="The upcoming invoice")
def upcoming(request: HttpRequest, account_id: str) -> Upcoming:
    """404 until the first invoice sync has stored a preview."""
    account = account_of(request, account_id)
    preview = InvoicePreview.objects.filter(account=account).prefetch_related("lines").first()
    if preview is None:
        raise Http404("No upcoming invoice synced yet.")
    lines = [
        UpcomingLine(
            description=line.description,
            amount=money(line.amount, line.currency),
            quantity=f"{line.quantity.normalize():f}",
            period_start=utc(line.period_start),
            period_end=utc(line.period_end),
        )
        for line in preview.lines.all()
    ]
    return Upcoming(
        status=preview.status,
        period_start=utc(preview.period_start),
        period_end=utc(preview.period_end),
        amount_due=money(preview.amount_due, preview.currency),
        amount_remaining=money(preview.amount_remaining, preview.currency),
        synced_at=utc(preview.synced_at),
        lines=lines,
    )


class PurchaseLine(Schema):
    description: str  # "AI Gateway credit" or "Purchase fee"
    amount: Money


class InvoiceDetail(InvoiceOut):
    # A top-up made in the portal: its credit and Cloudflare's purchase fee. Empty for an invoice the portal
    # did not start (an auto top-up, a purchase in the dashboard): Cloudflare gives its total only.
    lines: list[PurchaseLine]


@router.get(
    "/accounts/{account_id}/invoices/{invoice_id}",
    response=InvoiceDetail,
    summary="One invoice with its lines",
    description="A billing period's usage invoice is `/invoices/usage/{period}`.",
)
def invoice(request: HttpRequest, account_id: str, invoice_id: str) -> InvoiceDetail:
    account = account_of(request, account_id)
    row = account.invoices.filter(invoice_id=invoice_id).first()
    if row is None:
        raise Http404("No such invoice.")
    purchase = purchases_of([row]).get((account.pk, row.invoice_id))
    lines = (
        [
            PurchaseLine(description="AI Gateway credit", amount=money(purchase.credit, row.currency)),
            PurchaseLine(description="Purchase fee", amount=money(purchase.fee, row.currency)),
        ]
        if purchase
        else []
    )
    return InvoiceDetail(**_invoice(row).model_dump(), lines=lines)
