"""Billed usage per model in a billing period, reconciled against Cloudflare's analytics estimate per model.

Billed usage is the period's invoice lines (`InvoiceLine`, as the invoices job last read them); the estimate
is the gateway spend of the same span read by `billing/figures/gateway_spend.spend_over` (the one reading of
analytics), summed by provider and model. The span is the period from its start to when its lines were read
(the period's end once they were read after it): the lines hold the usage billed up to then.

A line naming `provider/model` is that model's. Lines naming none (invoices before 2026-09-01 have one line
for all usage) form one row, "not itemised by model", set against the estimate of every model the invoice
does not name. A model with an estimate but no line is billed $0.00.

A row is flagged when its difference is beyond the tolerance: more than TOLERANCE_DOLLARS *and* more than
TOLERANCE_PERCENT of the estimate (both, so neither a cent on a tiny model nor a few dollars on a large one
raise a flag). The estimate is Cloudflare's own, from model pricing (the sandbox keeps it within ±2 % of
billed usage, hour by hour), and analytics arrive minutes late, so a few percent is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.figures.gateway_spend import GatewaySpend, Range, history_of, spend_over
from billing.models import Account, InvoiceLine

TOLERANCE_PERCENT = Decimal(5)
TOLERANCE_DOLLARS = Decimal("1.00")
UNITEMISED = ""  # the key of usage not itemised by model
CENT = Decimal("0.01")
SPAN_MEANING = "the billing period from its start to when its invoice lines were read (UTC)"


def model_key(provider: str, model: str) -> str:
    """`provider/model`, the name analytics and invoice lines share."""
    return f"{provider}/{model}"


@dataclass(frozen=True)
class ModelRow:
    model: str  # `provider/model`, or UNITEMISED
    billed: Decimal
    estimate: Decimal

    @property
    def difference(self) -> Decimal:
        """Billed less estimated, in dollars."""
        return self.billed - self.estimate

    @property
    def percent(self) -> Decimal | None:
        """The difference as a percent of the estimate (one decimal), None when nothing was estimated."""
        if not self.estimate:
            return None
        percent = (self.difference * 100 / self.estimate).quantize(Decimal("0.1"))
        return abs(percent) if percent.is_zero() else percent  # 0.0, never "-0.0 %"

    @property
    def flagged(self) -> bool:
        gap = abs(self.difference)
        return gap > TOLERANCE_DOLLARS and gap * 100 > TOLERANCE_PERCENT * abs(self.estimate)


@dataclass(frozen=True)
class PeriodUsage:
    """A billing period's invoice lines and the analytics of the same span by gateway, model and provider:
    what the reconciliation and the cost-center statement both start from."""

    period_start: datetime
    period_end: datetime
    lines_read_at: datetime
    lines: list[InvoiceLine]
    spend: GatewaySpend

    @property
    def billed_by_model(self) -> dict[str, Decimal]:
        billed: dict[str, Decimal] = {}
        for line in self.lines:
            key = model_key(line.provider, line.model) if line.model else UNITEMISED
            billed[key] = billed.get(key, Decimal(0)) + line.amount
        return billed

    @property
    def billed_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def period_usage(account: Account, period_start: datetime, now: datetime) -> PeriodUsage | None:
    """The period's lines and analytics (three queries and the two of `history_of`), or None when no lines of
    that period are stored."""
    lines = list(InvoiceLine.objects.of_period(account, period_start))
    if not lines:
        return None
    period_end = lines[0].period_end
    read_at = max(line.synced_at for line in lines)
    span = Range(period_start, min(period_end, read_at), "Billing period", SPAN_MEANING, "period")
    spend = spend_over(account.pk, span, "gateway", "model", "provider", history=history_of(account.pk, now))
    return PeriodUsage(period_start, period_end, read_at, lines, spend)


@dataclass(frozen=True)
class Reconciliation:
    usage: PeriodUsage
    rows: list[ModelRow]  # the largest billed first, then the largest estimate

    @property
    def billed(self) -> Decimal:
        return sum((row.billed for row in self.rows), Decimal(0))

    @property
    def estimate(self) -> Decimal:
        return sum((row.estimate for row in self.rows), Decimal(0))

    @property
    def total(self) -> ModelRow:
        return ModelRow("", self.billed, self.estimate)

    @property
    def flagged(self) -> list[ModelRow]:
        return [row for row in self.rows if row.flagged]


def reconcile(usage: PeriodUsage) -> Reconciliation:
    """Billed usage and the estimate per model over the period's span (see the module)."""
    billed = usage.billed_by_model
    estimates: dict[str, Decimal] = {}
    for group in usage.spend.by("model", "provider"):
        key = model_key(group["provider"], group["model"])
        if key not in billed and UNITEMISED in billed:
            key = UNITEMISED
        estimates[key] = estimates.get(key, Decimal(0)) + group["total_cost"]
    rows = [
        ModelRow(key, billed.get(key, Decimal(0)), estimates.get(key, Decimal(0)))
        for key in set(billed) | set(estimates)
    ]
    rows.sort(key=lambda row: (-row.billed, -row.estimate, row.model))
    return Reconciliation(usage, rows)


def reconciliation_for(account: Account, period_start: datetime, now: datetime) -> Reconciliation | None:
    """The period's reconciliation, or None when no invoice lines of it are stored."""
    usage = period_usage(account, period_start, now)
    return reconcile(usage) if usage else None
