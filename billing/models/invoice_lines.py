"""The lines of each billing period's usage invoice, kept per period.

Cloudflare's API gives invoice lines only on the invoice preview (the period under way); the invoice history
has none. The invoices job keeps each preview's lines under its period, so when the period closes its lines
stay: the last lines read before the period ended (see the README, "What the sandbox does not model")."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import models

from billing.models.accounts import Account
from billing.models.fields import money_field


@dataclass(frozen=True, order=True)
class BillingPeriod:
    start: datetime
    end: datetime

    @property
    def slug(self) -> str:
        """The UTC day it starts on (YYYY-MM-DD): how URLs name it."""
        return self.start.astimezone(UTC).date().isoformat()


class InvoiceLineQuerySet(models.QuerySet):
    def of_period(self, account: Account, period_start) -> "InvoiceLineQuerySet":
        return self.filter(account=account, period_start=period_start).order_by("position")

    def periods(self, account: Account) -> list[BillingPeriod]:
        """The account's billing periods with lines, newest first."""
        rows = self.filter(account=account).values_list("period_start", "period_end").distinct()
        return sorted({BillingPeriod(start, end) for start, end in rows}, reverse=True)


class InvoiceLine(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invoice_lines")
    invoice_ref = models.CharField(max_length=128, blank=True, default="")  # the preview's id
    period_start = models.DateTimeField()  # the invoice's billing period
    period_end = models.DateTimeField()
    position = models.PositiveIntegerField()
    description = models.TextField(blank=True, default="")
    # The line's `provider/model` as analytics names them; both blank for a line not itemised by model.
    provider = models.CharField(max_length=200, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    amount = money_field()
    credited = money_field()  # the sum of its pretax credit amounts
    currency = models.CharField(max_length=8, default="usd")
    quantity = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    unit_amount_decimal = models.CharField(max_length=64, blank=True, default="")
    line_start = models.DateTimeField(null=True, blank=True)
    line_end = models.DateTimeField(null=True, blank=True)
    # [{"amount": "1.50" (major units, as a string), "type", "credit_balance_transaction", "discount"}]
    credits = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField()

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start", "position"], name="one_invoice_line_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.period_start:%Y-%m} line {self.position}"

    @property
    def model_name(self) -> str:
        """`provider/model`, or "" for a line not itemised by model."""
        return f"{self.provider}/{self.model}" if self.model else ""
