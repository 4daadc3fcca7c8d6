"""The showback statement of a billing period: billed usage allocated to cost centers.

Billed usage is the period's invoice lines, per model (see `reconciliation.period_usage`). Each model's billed
amount is shared among cost centers in proportion to their part of that model's analytics estimate over the
same span (the estimate of gateway × model × provider, each slice belonging to the cost center that covers
it). What no cost center covers goes to the row NOT_ATTRIBUTED; a billed model with no estimate at all goes
to NO_ANALYTICS. Usage not itemised by model (invoices before 2026-09-01) is shared by the estimate of every
model the invoice does not name.

The statement sums **exactly** to billed usage, to the cent. Rounding rule: each model's billed amount is
split in whole cents by the largest remainder method (`allocation.allocate` in cents): every share gets its
exact quota rounded down to the cent, and the cents left over go one each to the shares with the largest
remainders (ties: the order of the rows, cost centers by name, then the two named rows). A slice that two
cost centers cover is the first's by name, so no cent is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from billing.figures.allocation import allocate
from billing.figures.reconciliation import UNITEMISED, PeriodUsage, model_key, period_usage
from billing.models import Account, CostCenter

NOT_ATTRIBUTED = "Not attributed to any cost center"
NO_ANALYTICS = "Billed with no analytics"
CENT = Decimal("0.01")


def _centers(account: Account) -> list[CostCenter]:
    return list(CostCenter.objects.filter(account=account).order_by("name", "pk"))


# (gateway, model, provider) -> the name of the cost center that covers that spend, "" for none.
CostCenterOf = Callable[[str, str, str], str]


def _lookup(centers: list[CostCenter]) -> CostCenterOf:
    def of(gateway: str, model: str, provider: str) -> str:
        return next((c.name for c in centers if c.covers(gateway, model, provider)), "")

    return of


def cost_center_lookup(account: Account) -> CostCenterOf:
    """A function (gateway, model, provider) -> the name of the cost center that covers that spend ("" for
    none; the first by name when several do), reading the account's cost centers once: for exports that ask
    row by row (the FOCUS export's cost-center column)."""
    return _lookup(_centers(account))


def cost_center_of(account: Account, gateway: str, model: str, provider: str) -> str:
    """The name of the cost center that covers this spend, "" when none does (one query)."""
    return cost_center_lookup(account)(gateway, model, provider)


@dataclass
class StatementRow:
    name: str
    named: bool = False  # one of the two rows of what no cost center takes
    by_model: dict[str, Decimal] = field(default_factory=dict)  # "provider/model" (or UNITEMISED): dollars

    @property
    def amount(self) -> Decimal:
        return sum(self.by_model.values(), Decimal(0))


@dataclass(frozen=True)
class Statement:
    usage: PeriodUsage
    rows: list[StatementRow]  # cost centers by name, then NOT_ATTRIBUTED and NO_ANALYTICS

    @property
    def total(self) -> Decimal:
        return sum((row.amount for row in self.rows), Decimal(0))


def _weights(usage: PeriodUsage, of: CostCenterOf) -> dict[str, dict[str, Decimal]]:
    """{billed model key: {cost center name or "": its estimate}}."""
    billed = usage.billed_by_model
    weights: dict[str, dict[str, Decimal]] = {key: {} for key in billed}
    for group in usage.spend.groups:
        key = model_key(group["provider"], group["model"])
        if key not in billed:
            if UNITEMISED not in billed:
                continue  # estimated but not billed: nothing to allocate
            key = UNITEMISED
        owner = of(group["gateway"], group["model"], group["provider"])
        weights[key][owner] = weights[key].get(owner, Decimal(0)) + max(group["total_cost"], Decimal(0))
    return weights


def allocate_usage(usage: PeriodUsage, centers: Iterable[str], of: CostCenterOf) -> Statement:
    """The statement of `usage` over the cost centers named `centers` (see the module)."""
    rows = {name: StatementRow(name) for name in centers}
    rows[""] = StatementRow(NOT_ATTRIBUTED, named=True)
    no_analytics = StatementRow(NO_ANALYTICS, named=True)
    order = list(rows)
    weights = _weights(usage, of)
    for key, amount in usage.billed_by_model.items():
        owners = [name for name in order if weights[key].get(name)]
        if not owners:
            no_analytics.by_model[key] = amount
            continue
        shares = allocate(amount, [weights[key][name] for name in owners], unit=CENT)
        for name, share in zip(owners, shares, strict=True):
            rows[name].by_model[key] = share
    return Statement(usage, [*rows.values(), no_analytics])


def statement_for(account: Account, period_start: datetime, now: datetime) -> Statement | None:
    """The account's statement for the billing period starting at `period_start`, or None when no invoice
    lines of it are stored."""
    usage = period_usage(account, period_start, now)
    if usage is None:
        return None
    centers = _centers(account)
    return allocate_usage(usage, [c.name for c in centers], _lookup(centers))
