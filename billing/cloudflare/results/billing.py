"""Results of the account-wide reads: credit balance, usage history, invoices and the upcoming invoice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.cloudflare.results.topup import TopupConfig
from billing.cloudflare.results.wire import Fields, number, string

__all__ = [
    "CreditBalance",
    "Invoice",
    "InvoiceHistory",
    "InvoiceLine",
    "InvoiceLinePeriod",
    "InvoiceLinePretaxCreditAmount",
    "InvoiceLinePricing",
    "InvoicePreview",
    "Pagination",
    "PaymentMethod",
    "UsageHistory",
    "UsageSummary",
]


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    brand: str | None = None
    last4: str | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> PaymentMethod:
        f = Fields(value, where)
        return cls(brand=f.text("brand", required=False), last4=f.text("last4", required=False))


@dataclass(frozen=True, slots=True)
class CreditBalance:
    balance: Decimal
    has_default_payment_method: bool
    payment_method: PaymentMethod | None
    topup_config: TopupConfig
    first_topup_success: bool | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> CreditBalance:
        f = Fields(value, where)
        return cls(
            balance=f.decimal("balance"),
            has_default_payment_method=f.flag("has_default_payment_method"),
            payment_method=f.nested(PaymentMethod.from_wire, "payment_method", required=False),
            topup_config=f.nested(TopupConfig.from_wire, "topup_config"),
            first_topup_success=f.flag("first_topup_success", required=False),
        )


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """One usage bucket (the SDK's ``History``); times in Unix milliseconds as sent."""

    id: str
    aggregated_value: Decimal
    end_time: Decimal
    start_time: Decimal

    @classmethod
    def from_wire(cls, value: Any, where: str) -> UsageSummary:
        f = Fields(value, where)
        return cls(
            id=f.text("id"),
            aggregated_value=f.decimal("aggregated_value"),
            end_time=f.decimal("end_time"),
            start_time=f.decimal("start_time"),
        )


@dataclass(frozen=True, slots=True)
class UsageHistory:
    history: tuple[UsageSummary, ...]

    @classmethod
    def from_wire(cls, value: Any, where: str) -> UsageHistory:
        return cls(history=Fields(value, where).items(UsageSummary.from_wire, "history"))


@dataclass(frozen=True, slots=True)
class Invoice:
    amount_due: Decimal
    amount_paid: Decimal
    amount_remaining: Decimal
    currency: str
    id: str | None = None
    attempt_count: int | None = None
    attempted: bool | None = None
    auto_advance: bool | None = None
    created: Decimal | None = None
    created_by: str | None = None
    description: str | None = None
    invoice_origin: str | None = None
    invoice_pdf: str | None = None
    status: str | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> Invoice:
        f = Fields(value, where)
        return cls(
            amount_due=f.decimal("amount_due"),
            amount_paid=f.decimal("amount_paid"),
            amount_remaining=f.decimal("amount_remaining"),
            currency=f.text("currency"),
            id=f.text("id", required=False),
            attempt_count=f.integer("attempt_count", required=False),
            attempted=f.flag("attempted", required=False),
            auto_advance=f.flag("auto_advance", required=False),
            created=f.decimal("created", required=False),
            created_by=f.text("created_by", required=False),
            description=f.text("description", required=False),
            invoice_origin=f.text("invoice_origin", required=False),
            invoice_pdf=f.text("invoice_pdf", required=False),
            status=f.text("status", required=False),
        )


@dataclass(frozen=True, slots=True)
class Pagination:
    has_more: bool
    page: int
    per_page: int
    total_count: int

    @classmethod
    def from_wire(cls, value: Any, where: str) -> Pagination:
        f = Fields(value, where)
        return cls(
            has_more=f.flag("has_more"),
            page=f.integer("page"),
            per_page=f.integer("per_page"),
            total_count=f.integer("total_count"),
        )


@dataclass(frozen=True, slots=True)
class InvoiceHistory:
    invoices: tuple[Invoice, ...]
    pagination: Pagination

    @classmethod
    def from_wire(cls, value: Any, where: str) -> InvoiceHistory:
        f = Fields(value, where)
        return cls(
            invoices=f.items(Invoice.from_wire, "invoices"),
            pagination=f.nested(Pagination.from_wire, "pagination"),
        )


@dataclass(frozen=True, slots=True)
class InvoiceLinePeriod:
    end: Decimal
    start: Decimal

    @classmethod
    def from_wire(cls, value: Any, where: str) -> InvoiceLinePeriod:
        f = Fields(value, where)
        return cls(end=f.decimal("end"), start=f.decimal("start"))


def _decimal_text(value: Any, where: str) -> str:
    # Stripe sends unit_amount_decimal as a string; a bare number is accepted and kept as its exact text.
    return str(number(value, where)) if isinstance(value, int | Decimal) else string(value, where)


@dataclass(frozen=True, slots=True)
class InvoiceLinePricing:
    unit_amount_decimal: str | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> InvoiceLinePricing:
        f = Fields(value, where)
        return cls(unit_amount_decimal=f.nested(_decimal_text, "unit_amount_decimal", required=False))


@dataclass(frozen=True, slots=True)
class InvoiceLinePretaxCreditAmount:
    amount: Decimal
    type: str
    credit_balance_transaction: str | None = None
    discount: str | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> InvoiceLinePretaxCreditAmount:
        f = Fields(value, where)
        return cls(
            amount=f.decimal("amount"),
            type=f.text("type"),
            credit_balance_transaction=f.text("credit_balance_transaction", required=False),
            discount=f.text("discount", required=False),
        )


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    amount: Decimal
    currency: str
    period: InvoiceLinePeriod
    pricing: InvoiceLinePricing
    quantity: Decimal
    description: str | None = None
    pretax_credit_amounts: tuple[InvoiceLinePretaxCreditAmount, ...] | None = None

    @classmethod
    def from_wire(cls, value: Any, where: str) -> InvoiceLine:
        f = Fields(value, where)
        return cls(
            amount=f.decimal("amount"),
            currency=f.text("currency"),
            period=f.nested(InvoiceLinePeriod.from_wire, "period"),
            pricing=f.nested(InvoiceLinePricing.from_wire, "pricing"),
            quantity=f.decimal("quantity"),
            description=f.text("description", required=False),
            pretax_credit_amounts=f.items(
                InvoiceLinePretaxCreditAmount.from_wire, "pretax_credit_amounts", required=False
            ),
        )


@dataclass(frozen=True, slots=True)
class InvoicePreview:
    id: str
    amount_due: Decimal
    amount_paid: Decimal
    amount_remaining: Decimal
    currency: str
    invoice_lines: tuple[InvoiceLine, ...]
    period_end: Decimal
    period_start: Decimal
    status: str

    @classmethod
    def from_wire(cls, value: Any, where: str) -> InvoicePreview:
        f = Fields(value, where)
        return cls(
            id=f.text("id"),
            amount_due=f.decimal("amount_due"),
            amount_paid=f.decimal("amount_paid"),
            amount_remaining=f.decimal("amount_remaining"),
            currency=f.text("currency"),
            invoice_lines=f.items(InvoiceLine.from_wire, "invoice_lines"),
            period_end=f.decimal("period_end"),
            period_start=f.decimal("period_start"),
            status=f.text("status"),
        )
