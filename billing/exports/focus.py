"""A FOCUS 1.2 Cost and Usage dataset of the accounts' AI Gateway charges, as rows of text for a CSV.

What each row is (the README's "FOCUS export" table says it column by column):
- **Usage**, one row per UTC day × account × gateway × model × provider. `BilledCost` is the day's billed
  usage (Cloudflare's usage history, which bills per account and day) split over the day's analytics by each
  one's share of the analytics estimate (`billing.figures.allocation`: the parts sum to the day's billed usage
  to the micro-dollar); `x_EstimatedCost` is the analytics estimate itself. FOCUS has no "estimate" charge
  category, so estimates are only ever x_ columns: a day with analytics but no billed usage yet has
  `BilledCost` 0 and `x_CostSource` "estimate, not billed yet"; a day billed without any analytics has one row
  with no gateway, `x_CostSource` "billed, no analytics".
- **Purchase**, one row per paid credit invoice (portal top-ups, auto top-ups, top-ups from the dashboard):
  the credit bought (`EffectiveCost` 0: FOCUS's rule for a purchase that covers future charges) and a second
  row for Cloudflare's purchase fee (its `EffectiveCost` is the fee: nothing later draws it down). The split
  is the portal top-up's own where the invoice is one, else the invoice's amount less TOPUP_FEE_PERCENT.

Rows are made one account at a time from `.iterator()` queries, so memory stays flat whatever the row count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby

from django.conf import settings

from billing.figures.allocation import allocate
from billing.figures.month import month_span
from billing.figures.spend import ZERO, usage_for
from billing.figures.statement import CostCenterOf, cost_center_lookup
from billing.models import Account, GatewaySpendDay, Invoice, TopUp

PUBLISHER = "Cloudflare"
SERVICE_NAME = "AI Gateway"
SERVICE_CATEGORY = "AI and Machine Learning"
SERVICE_SUBCATEGORY = "Generative AI"
CURRENCY = "USD"
DOLLARS_UNIT = "USD"
BILLED = "billed"
NOT_BILLED_YET = "estimate, not billed yet"
NO_ANALYTICS = "billed, no analytics"

COLUMNS = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "x_Gateway",
    "x_Model",
    "x_ModelProvider",
    "x_CostCenter",
    "x_CostSource",
    "x_EstimatedCost",
    "x_Requests",
    "x_TokensIn",
    "x_TokensOut",
]


def focus_rows(account_ids: Iterable[int], first: date, last: date) -> Iterator[list[str]]:
    """The dataset's rows (lists in COLUMNS' order) of these accounts' charges on the UTC days first..last."""
    for account in Account.objects.filter(pk__in=list(account_ids)).order_by("name", "pk").iterator():
        yield from _usage_rows(account, first, last)
        yield from _purchase_rows(account, first, last)


# --- usage ------------------------------------------------------------------------------------------------
def _usage_rows(account: Account, first: date, last: date) -> Iterator[list[str]]:
    start, end = _instant(first), _instant(last + timedelta(days=1))
    usage = usage_for(account.pk, start, end)
    billed = {day.date(): value for day, value in usage.hour_days.items()}
    billed.update((day.date(), value) for day, value in usage.days.items())
    spend = (
        GatewaySpendDay.objects.filter(account=account, day__gte=first, day__lte=last)
        .order_by("day", "gateway", "model", "provider")
        .values_list("day", "gateway", "model", "provider", "cost", "requests", "tokens_in", "tokens_out")
        .iterator()
    )
    centers = cost_center_lookup(account)  # the account's cost centers, read once
    seen: set[date] = set()
    for day, rows in groupby(spend, key=lambda row: row[0]):
        seen.add(day)
        yield from _day_rows(account, day, list(rows), billed.get(day), centers)
    for day in sorted(set(billed) - seen):
        yield _usage_row(account, day, billed[day], NO_ANALYTICS)


def _day_rows(
    account: Account, day: date, rows: list[tuple], billed: Decimal | None, centers: CostCenterOf
) -> Iterator[list[str]]:
    """One day's analytics rows, each given its share of the day's billed usage."""
    estimates = [row[4] for row in rows]
    if billed is None:
        shares, source = [ZERO] * len(rows), NOT_BILLED_YET
    else:
        shares, source = allocate(billed, estimates), BILLED
        if sum(estimates, ZERO) <= 0 and billed > 0:
            yield _usage_row(account, day, billed, NO_ANALYTICS)
    for (_, gateway, model, provider, cost, requests, tokens_in, tokens_out), share in zip(
        rows, shares, strict=True
    ):
        yield _usage_row(
            account,
            day,
            share,
            source,
            (gateway, model, provider),
            cost,
            (requests, tokens_in, tokens_out),
            centers(gateway, model, provider),
        )


def _usage_row(
    account: Account,
    day: date,
    cost: Decimal,
    source: str,
    key: tuple[str, str, str] = ("", "", ""),
    estimate: Decimal | None = None,
    counts: tuple[int, int, int] | None = None,
    cost_center: str = "",
) -> list[str]:
    gateway, model, provider = key
    what = f"{model or 'unknown model'} via {provider or 'unknown provider'} on gateway {gateway}"
    description = f"AI Gateway usage: {what}" if gateway else "AI Gateway usage (no analytics for the day)"
    requests = "" if counts is None else str(counts[0])
    row = {
        "ChargeCategory": "Usage",
        "ChargeDescription": description,
        "ChargeFrequency": "Usage-Based",
        "ConsumedQuantity": requests,
        "ConsumedUnit": "Requests" if requests else "",
        "x_Gateway": gateway,
        "x_Model": model,
        "x_ModelProvider": provider,
        "x_CostCenter": cost_center,
        "x_CostSource": source,
        "x_EstimatedCost": "" if estimate is None else _amount(estimate),
        "x_Requests": requests,
        "x_TokensIn": "" if counts is None else str(counts[1]),
        "x_TokensOut": "" if counts is None else str(counts[2]),
    }
    return _row(account, _instant(day), _instant(day + timedelta(days=1)), cost, cost, row)


# --- credit purchases -------------------------------------------------------------------------------------
def _purchase_rows(account: Account, first: date, last: date) -> Iterator[list[str]]:
    invoices = (
        Invoice.objects.filter(
            account=account,
            status="paid",
            created__gte=_instant(first),
            created__lt=_instant(last + timedelta(days=1)),
        )
        .order_by("created", "pk")
        .exclude(created=None)
        .values_list("invoice_id", "invoice_type", "created", "amount_paid")
        .exclude(created=None)
        .iterator()
    )
    for invoice_id, invoice_type, created, paid in invoices:
        assert created is not None  # the query leaves invoices without a date out
        credit, fee = _split(account, invoice_id, paid)
        kind = "auto top-up" if invoice_type == "auto" else "top-up"
        day = created.astimezone(UTC).date()
        start, end = _instant(day), _instant(day + timedelta(days=1))
        common = {
            "ChargeCategory": "Purchase",
            "ChargeFrequency": "One-Time",
            "InvoiceId": invoice_id,
            "x_CostSource": BILLED,
        }
        yield _row(
            account, start, end, credit, ZERO, {**common, "ChargeDescription": f"AI Gateway credit ({kind})"}
        )
        if fee > 0:
            description = f"Credit purchase fee ({kind})"
            yield _row(account, start, end, fee, fee, {**common, "ChargeDescription": description})


def _split(account: Account, invoice_id: str, paid: Decimal) -> tuple[Decimal, Decimal]:
    """(credit, fee) of a paid credit invoice: the portal top-up's own amounts when it is one, else the
    invoice less Cloudflare's fee at TOPUP_FEE_PERCENT (to the cent)."""
    topup = (
        TopUp.objects.filter(account=account, payment_intent_id=invoice_id)
        .values_list("amount_cents", "fee_cents")
        .first()
    )
    if topup is not None:
        return Decimal(topup[0]) / 100, Decimal(topup[1]) / 100
    percent = Decimal(settings.TOPUP_FEE_PERCENT)
    credit = (paid * 100 / (100 + percent)).quantize(Decimal("0.01"))
    return credit, paid - credit


# --- one row ----------------------------------------------------------------------------------------------
def _row(
    account: Account, start: datetime, end: datetime, billed: Decimal, effective: Decimal, fields: dict
) -> list[str]:
    period_start, period_end = month_span(start)
    amount = _amount(billed)
    row = {
        "BilledCost": amount,
        "BillingAccountId": account.cloudflare_id,
        "BillingAccountName": account.name,
        "BillingAccountType": "Cloudflare account",
        "BillingCurrency": CURRENCY,
        "BillingPeriodStart": _moment(period_start),
        "BillingPeriodEnd": _moment(period_end),
        "ChargePeriodStart": _moment(start),
        "ChargePeriodEnd": _moment(end),
        "ContractedCost": amount,
        "ContractedUnitPrice": "1",
        "EffectiveCost": _amount(effective),
        "InvoiceIssuerName": PUBLISHER,
        "ListCost": amount,
        "ListUnitPrice": "1",
        "PricingCategory": "Standard",
        "PricingQuantity": amount,
        "PricingUnit": DOLLARS_UNIT,
        "ProviderName": PUBLISHER,
        "PublisherName": PUBLISHER,
        "ServiceCategory": SERVICE_CATEGORY,
        "ServiceName": SERVICE_NAME,
        "ServiceSubcategory": SERVICE_SUBCATEGORY,
        **fields,
    }
    return [row.get(column, "") for column in COLUMNS]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
