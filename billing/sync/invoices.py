"""The invoices job: manual and auto invoices (every page) and the invoice preview, upserted; and per type how
many invoices were read against how many Cloudflare reported (`InvoiceListing`)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.cloudflare import BillingClient
from billing.cloudflare import Invoice as RemoteInvoice
from billing.cloudflare import InvoicePreview as RemoteInvoicePreview
from billing.models import (
    Account,
    Invoice,
    InvoiceListing,
    InvoicePreview,
    InvoicePreviewLine,
    InvoiceType,
    SyncJob,
    SyncRun,
)
from billing.money import minor_units_to_major, timestamp_to_datetime, to_decimal
from billing.sync.invoice_lines import line_credits, store_period_lines
from billing.sync.runs import UnitResult, run_unit, text

logger = logging.getLogger("billing.sync")

FETCHED_TYPES = (InvoiceType.MANUAL, InvoiceType.AUTO)
# Asked for on every page; a Cloudflare that pages by fewer is still followed through `has_more`.
INVOICES_PER_PAGE = 50


def invoice_units(account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    return [run_unit(SyncJob.INVOICES, account, lambda client: _fetch_invoices(client, account))]


def sync_invoices(account: Account) -> SyncRun | None:
    """Fetches manual and auto invoices (every page of each) and the invoice preview, and upserts them."""
    return invoice_units(account)[0].run


@dataclass(frozen=True)
class Listing:
    """Every invoice of one type that Cloudflare's list gave, and how many it reported there are."""

    kind: str
    invoices: list[RemoteInvoice]
    reported: int


def _fetch_invoices(client: BillingClient, account: Account) -> None:
    listings = [read_invoice_list(client, account.cloudflare_id, kind) for kind in FETCHED_TYPES]
    preview = client.invoice_preview(account_id=account.cloudflare_id)
    now = timezone.now()
    with transaction.atomic():
        store_invoices(account, [(x.kind, invoice) for x in listings for invoice in x.invoices], now)
        store_invoice_listings(account, listings, now)
        store_invoice_preview(account, preview, now)
        store_period_lines(account, preview, now)


def read_invoice_list(client: BillingClient, account_id: str, kind: str) -> Listing:
    """Every invoice of `kind`, following `pagination.has_more` page by page (`page` / `per_page` as extra
    query parameters, which the SDK does not offer and Cloudflare does not document). Stops at the last page,
    at an empty page, at a page that brings no invoice not already read (Cloudflare ignoring `page`), or after
    SYNC_INVOICES_MAX_PAGES pages. Raises CloudflareError."""
    read: dict[str, RemoteInvoice] = {}
    reported = 0
    for number in range(1, settings.SYNC_INVOICES_MAX_PAGES + 1):
        answer = client.invoice_history(
            account_id=account_id, type=kind, extra_query={"page": number, "per_page": INVOICES_PER_PAGE}
        )
        reported = max(reported, answer.pagination.total_count)
        fresh = {key: inv for inv in answer.invoices if (key := invoice_key(kind, inv)) not in read}
        read.update(fresh)
        if not answer.pagination.has_more or not fresh:
            break
    else:
        logger.warning(
            "invoices of account %s (%s): stopped after SYNC_INVOICES_MAX_PAGES=%s pages, %s of %s read",
            account_id,
            kind,
            settings.SYNC_INVOICES_MAX_PAGES,
            len(read),
            reported,
        )
    return Listing(kind, list(read.values()), reported)


def store_invoice_listings(account: Account, listings: list[Listing], synced_at: datetime) -> None:
    """Keeps, per type, how many invoices were read and how many Cloudflare reported."""
    for listing in listings:
        InvoiceListing.objects.update_or_create(
            account=account,
            invoice_type=listing.kind,
            defaults={
                "read_count": len(listing.invoices),
                "reported_count": listing.reported,
                "synced_at": synced_at,
            },
        )


def invoice_key(kind: str, invoice: RemoteInvoice) -> str:
    """The id an invoice is stored under: Cloudflare's, or a stable one made from its fields."""
    return text(invoice.id, 128) if invoice.id else synthetic_invoice_id(kind, invoice)


def synthetic_invoice_id(kind: str, invoice: RemoteInvoice) -> str:
    """A stable id for an invoice Cloudflare sent without one, from the fields that do not change."""
    parts = [
        kind,
        invoice.created,
        invoice.amount_due,
        invoice.currency,
        invoice.description,
        invoice.created_by,
        invoice.invoice_origin,
    ]
    digest = hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return f"synthetic_{digest[:32]}"


def store_invoices(account: Account, fetched: list, synced_at: datetime) -> int:
    """Upserts [(invoice_type, Invoice result)] keyed by (account, invoice id)."""
    rows = {}
    for kind, invoice in fetched:
        invoice_id = invoice_key(kind, invoice)
        currency = (invoice.currency or "usd").lower()[:8]
        pdf = invoice.invoice_pdf or ""
        rows[invoice_id] = Invoice(
            account=account,
            invoice_id=invoice_id,
            invoice_type=kind,
            amount_due=minor_units_to_major(invoice.amount_due, currency),
            amount_paid=minor_units_to_major(invoice.amount_paid, currency),
            amount_remaining=minor_units_to_major(invoice.amount_remaining, currency),
            currency=currency,
            attempt_count=invoice.attempt_count,
            attempted=invoice.attempted,
            auto_advance=invoice.auto_advance,
            created=timestamp_to_datetime(invoice.created),
            created_by=text(invoice.created_by, 200),
            description=text(invoice.description, 10_000),
            invoice_origin=text(invoice.invoice_origin, 200),
            # Only a link the browser can follow safely is kept.
            invoice_pdf=pdf if len(pdf) <= 1000 and pdf.startswith(("https://", "http://")) else "",
            status=text(invoice.status, 32),
            synced_at=synced_at,
        )
    if rows:
        Invoice.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["account", "invoice_id"],
            update_fields=[
                "invoice_type",
                "amount_due",
                "amount_paid",
                "amount_remaining",
                "currency",
                "attempt_count",
                "attempted",
                "auto_advance",
                "created",
                "created_by",
                "description",
                "invoice_origin",
                "invoice_pdf",
                "status",
                "synced_at",
            ],
            batch_size=500,
        )
    return len(rows)


def store_invoice_preview(
    account: Account, preview: RemoteInvoicePreview, synced_at: datetime
) -> InvoicePreview:
    """Replaces the account's invoice preview and its lines."""
    currency = (preview.currency or "usd").lower()[:8]
    row, _ = InvoicePreview.objects.update_or_create(
        account=account,
        defaults={
            "preview_id": text(preview.id, 128),
            "amount_due": minor_units_to_major(preview.amount_due, currency),
            "amount_paid": minor_units_to_major(preview.amount_paid, currency),
            "amount_remaining": minor_units_to_major(preview.amount_remaining, currency),
            "currency": currency,
            "period_start": timestamp_to_datetime(preview.period_start),
            "period_end": timestamp_to_datetime(preview.period_end),
            "status": text(preview.status, 16),
            "synced_at": synced_at,
        },
    )
    row.lines.all().delete()
    lines = []
    for position, line in enumerate(preview.invoice_lines):
        line_currency = (line.currency or currency).lower()[:8]
        credits = line_credits(line, line_currency)
        lines.append(
            InvoicePreviewLine(
                preview=row,
                position=position,
                amount=minor_units_to_major(line.amount, line_currency),
                currency=line_currency,
                description=text(line.description, 10_000),
                period_start=timestamp_to_datetime(line.period.start),
                period_end=timestamp_to_datetime(line.period.end),
                unit_amount_decimal=text(line.pricing.unit_amount_decimal, 64),
                quantity=to_decimal(line.quantity),
                credits=credits,
            )
        )
    InvoicePreviewLine.objects.bulk_create(lines)
    return row
