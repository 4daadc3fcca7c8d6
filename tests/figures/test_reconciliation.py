"""Billed usage per model reconciled against the analytics estimate (billing/figures/reconciliation.py): the
sandbox's per-model invoice lines and its analytics, both read through real syncs."""

from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from billing.figures.reconciliation import ModelRow, reconciliation_for
from billing.models import InvoiceLine
from tests.support.billed_usage import MODELS, run_usage

pytestmark = pytest.mark.django_db


def preview_lines(sandbox_api, account) -> dict[str, Decimal]:
    """{"provider/model": dollars} as the sandbox's invoice preview itemises them."""
    preview = sandbox_api.result(sandbox_api.get(account.cloudflare_id, "invoice-preview"))
    return {
        line["description"].rsplit(": ", 1)[1]: Decimal(line["amount"]) / 100
        for line in preview["invoice_lines"]
    }


def test_each_model_billed_is_set_against_its_estimate_within_tolerance(account, itemised_month, sandbox_api):
    period = InvoiceLine.objects.periods(account)[0]

    found = reconciliation_for(account, period.start, timezone.now())

    billed = preview_lines(sandbox_api, account)
    assert set(billed) == MODELS
    assert {row.model: row.billed for row in found.rows} == billed
    for row in found.rows:
        # The sandbox's estimate is within ±2 % of billed usage, hour by hour.
        assert abs(row.estimate - row.billed) <= row.billed * Decimal("0.021") + Decimal("0.01")
        assert row.difference == row.billed - row.estimate
        assert not row.flagged
    assert found.billed == sum(billed.values()) and not found.flagged
    assert found.billed == Decimal(80)  # 40 hours at $2, to the cent


def test_billed_usage_without_analytics_is_flagged(account, cloudflare, itemised_month):
    InvoiceLine.objects.filter(account=account).update(provider="openai", model="gpt-5-unseen")

    found = reconciliation_for(account, InvoiceLine.objects.periods(account)[0].start, timezone.now())

    unseen = next(row for row in found.rows if row.model == "openai/gpt-5-unseen")
    assert unseen.estimate == 0 and unseen.percent is None and unseen.flagged
    estimated_only = [row for row in found.rows if row.model != "openai/gpt-5-unseen"]
    assert {row.model for row in estimated_only} == MODELS
    assert all(row.billed == 0 and row.flagged for row in estimated_only)


def test_a_month_before_itemised_invoices_is_one_row_against_every_model(account, cloudflare):
    cloudflare.put_account(account.cloudflare_id, usage_per_hour=1)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        run_usage(cloudflare, traveller, account, hours=10)  # in March 2026: one line for all usage
        lines = list(InvoiceLine.objects.filter(account=account))
        found = reconciliation_for(account, lines[0].period_start, timezone.now())

    assert [(line.description, line.model) for line in lines] == [("AI Gateway usage", "")]
    assert [row.model for row in found.rows] == [""]
    assert found.rows[0].billed == lines[0].amount > 0 and found.rows[0].estimate > 0


@pytest.mark.parametrize(
    ("billed", "estimate", "flagged"),
    [
        ("100.00", "95.00", True),  # $5 is 5.26 % of $95: beyond 5 % and $1
        ("100.00", "96.00", False),
        ("0.90", "0.00", False),  # 100 % but under $1
        ("1.01", "0.00", True),
        ("30.00", "28.60", False),  # $1.40 but 4.9 %
        ("30.00", "28.50", True),  # $1.50 and 5.26 %
    ],
)
def test_the_tolerance_needs_both_a_dollar_and_five_percent(billed, estimate, flagged):
    row = ModelRow("openai/gpt-4o", Decimal(billed), Decimal(estimate))

    assert row.flagged is flagged


def test_a_difference_that_rounds_to_nothing_reads_zero_percent_not_minus_zero():
    assert str(ModelRow("openai/gpt-4o", Decimal("250.28"), Decimal("250.38")).percent) == "0.0"
    assert str(ModelRow("openai/gpt-4o", Decimal("49.97"), Decimal("50.04")).percent) == "-0.1"
