"""The showback statement (billing/figures/statement.py): billed usage shared among cost centers by their part
of the analytics estimate, summing exactly to billed usage, to the cent, whatever the split."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.figures.allocation import allocate
from billing.figures.gateway_spend import GatewaySpend, Range
from billing.figures.reconciliation import PeriodUsage
from billing.figures.statement import (
    CENT,
    NO_ANALYTICS,
    NOT_ATTRIBUTED,
    allocate_usage,
    cost_center_of,
    statement_for,
)
from billing.models import CostCenter, InvoiceLine

pytestmark = pytest.mark.django_db
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cents", "weights", "shares"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # thirds: the odd cent to the first of equal remainders
        (200, [1, 1, 1], [67, 67, 66]),
        (1, [1, 1, 1], [1, 0, 0]),
        (0, [1, 2], [0, 0]),
        (1000, [Decimal("0.333333"), Decimal("0.333333"), Decimal("0.333334")], [333, 333, 334]),
        (10, [1, 6], [1, 9]),  # quotas 1.43 and 8.57: the larger remainder takes the cent
        (99_999, [3, 7, 11, 13], [8823, 20588, 32353, 38235]),
    ],
)
def test_cents_are_split_exactly_by_largest_remainder(cents, weights, shares):
    result = allocate(Decimal(cents) / 100, [Decimal(w) for w in weights], unit=CENT)

    assert result == [Decimal(share) / 100 for share in shares] and sum(result) == Decimal(cents) / 100


def usage_of(billed: dict[str, str], groups: list[tuple[str, str, str, str]]) -> PeriodUsage:
    """A period's usage: billed dollars per "provider/model" ("" for a line not itemised by model), and
    analytics groups (gateway, provider, model, dollars)."""
    lines = [
        InvoiceLine(
            provider=key.split("/", 1)[0] if key else "",
            model=key.split("/", 1)[1] if key else "",
            amount=Decimal(amount),
            period_start=START,
            period_end=END,
        )
        for key, amount in billed.items()
    ]
    spend = GatewaySpend(
        Range(START, END, "Billing period", ""),
        START,
        "",
        "daily",
        ("gateway", "model", "provider"),
        [{"gateway": g, "provider": p, "model": m, "total_cost": Decimal(c)} for g, p, m, c in groups],
    )
    return PeriodUsage(START, END, END, lines, spend)


def owner_of(gateway: str, model: str, provider: str) -> str:
    return {"a": "Alpha", "b": "Beta", "c": "Gamma"}.get(gateway, "")


def amounts(statement) -> dict[str, Decimal]:
    return {row.name: row.amount for row in statement.rows}


def test_a_dollar_in_thirds_sums_to_the_dollar():
    usage = usage_of({"openai/gpt-4o": "1.00"}, [(g, "openai", "gpt-4o", "0.5") for g in "abc"])

    statement = allocate_usage(usage, ["Alpha", "Beta", "Gamma"], owner_of)

    assert amounts(statement) == {
        "Alpha": Decimal("0.34"),
        "Beta": Decimal("0.33"),
        "Gamma": Decimal("0.33"),
        NOT_ATTRIBUTED: 0,
        NO_ANALYTICS: 0,
    }
    assert statement.total == Decimal("1.00")


def test_awkward_splits_over_several_models_sum_to_the_cent():
    billed = {"openai/gpt-4o": "10.01", "anthropic/claude-sonnet-4": "0.02", "openai/o3": "7.77", "": "3.33"}
    groups = [
        ("a", "openai", "gpt-4o", "1"),
        ("b", "openai", "gpt-4o", "1"),
        ("x", "openai", "gpt-4o", "1"),  # no cost center's gateway
        ("a", "anthropic", "claude-sonnet-4", "0.003"),
        ("b", "anthropic", "claude-sonnet-4", "0.003"),
        ("c", "anthropic", "claude-sonnet-4", "0.003"),
        ("c", "google", "gemini", "2"),  # not itemised on the invoice: shares the unitemised line
        ("a", "google", "gemini", "1"),
    ]

    statement = allocate_usage(usage_of(billed, groups), ["Alpha", "Beta", "Gamma"], owner_of)

    assert statement.total == Decimal("21.13") == statement.usage.billed_total
    assert amounts(statement)[NO_ANALYTICS] == Decimal("7.77")  # openai/o3 has no estimate
    assert amounts(statement)[NOT_ATTRIBUTED] == Decimal("3.33")  # a third of gpt-4o's $10.01, rounded down
    by_row = {row.name: row.by_model for row in statement.rows}
    assert by_row["Alpha"]["openai/gpt-4o"] == Decimal("3.34")
    assert by_row["Gamma"][""] == Decimal("2.22") and by_row["Alpha"][""] == Decimal("1.11")
    for model, dollars in statement.usage.billed_by_model.items():
        assert sum(row.by_model.get(model, 0) for row in statement.rows) == dollars


def test_the_statement_of_a_synced_month_sums_to_billed_usage(account, itemised_month):
    CostCenter.objects.create(account=account, name="Support", gateways=["chat-app"])
    CostCenter.objects.create(
        account=account, name="Batch", gateways=["batch-jobs"], only_providers=["workers-ai"]
    )
    period = InvoiceLine.objects.periods(account)[0]

    statement = statement_for(account, period.start, timezone.now())

    by_row = {row.name: row.by_model for row in statement.rows}
    assert [row.name for row in statement.rows] == ["Batch", "Support", NOT_ATTRIBUTED, NO_ANALYTICS]
    assert set(by_row["Support"]) == {"openai/gpt-4o-mini", "anthropic/claude-sonnet-4"}
    assert set(by_row["Batch"]) == {"workers-ai/@cf/meta/llama-3.1-8b-instruct"}
    # gpt-4o-mini on batch-jobs is no cost center's: weights 3 (chat-app) to 2 (batch-jobs), give or take.
    assert set(by_row[NOT_ATTRIBUTED]) == {"openai/gpt-4o-mini"}
    assert (
        by_row["Support"]["anthropic/claude-sonnet-4"]
        == statement.usage.billed_by_model["anthropic/claude-sonnet-4"]
    )
    assert statement.total == statement.usage.billed_total == Decimal("80.00")


def test_cost_center_of_names_the_first_cost_center_that_covers_the_spend(account):
    CostCenter.objects.create(account=account, name="Support", gateways=["chat-app", "batch-jobs"])
    CostCenter.objects.create(
        account=account, name="Research", gateways=["chat-app"], only_models=["openai/gpt-4o"]
    )

    assert cost_center_of(account, "chat-app", "gpt-4o", "openai") == "Research"
    assert cost_center_of(account, "chat-app", "gpt-4o-mini", "openai") == "Support"
    assert cost_center_of(account, "default", "gpt-4o", "openai") == ""
