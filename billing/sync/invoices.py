"""The invoices job: manual and auto invoices and the invoice preview (three calls), upserted."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing.cloudflare import BillingClient
from billing.cloudflare import Invoice as RemoteInvoice
from billing.cloudflare import InvoicePreview as RemoteInvoicePreview
from billing.models import Account, Invoice, InvoicePreview, InvoicePreviewLine, InvoiceType, SyncJob, SyncRun
from billing.money import minor_units_to_major, timestamp_to_datetime, to_decimal
from billing.sync.runs import UnitResult, run_unit, text


def invoice_units(account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    return [run_unit(SyncJob.INVOICES, account, lambda client: _fetch_invoices(client, account))]


def sync_invoices(account: Account) -> SyncRun | None:
    """Fetches manual and auto invoices and the invoice preview (three API calls) and upserts them."""
    return invoice_units(account)[0].run


def _fetch_invoices(client: BillingClient, account: Account) -> None:
    fetched = []
    for kind in (InvoiceType.MANUAL, InvoiceType.AUTO):
        answer = client.invoice_history(account_id=account.cloudflare_id, type=kind.value)
        fetched += [(kind, invoice) for invoice in answer.invoices]
    preview = client.invoice_preview(account_id=account.cloudflare_id)
    now = timezone.now()
    with transaction.atomic():
        store_invoices(account, fetched, now)
        store_invoice_preview(account, preview, now)


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
        invoice_id = text(invoice.id, 128) if invoice.id else synthetic_invoice_id(kind, invoice)
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
        credits = [
            {
                "amount": str(minor_units_to_major(credit.amount, line_currency)),
                "type": credit.type,
                "credit_balance_transaction": credit.credit_balance_transaction,
                "discount": credit.discount,
            }
            for credit in line.pretax_credit_amounts or ()
        ]
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
