"""The sandbox's usage invoice (the invoice preview): one line per provider/model from the 2026-09-01 period
on, summing to the invoice; one line for all usage before; credit pays the lines except what a negative
balance leaves uncovered."""

from datetime import UTC, datetime
from decimal import Decimal

import time_machine

from tests.support.billed_usage import MIX, MODELS
from tests.support.sandbox_fixtures import ACCOUNT


def itemised_preview(sandbox, sandbox_api, balance: int) -> dict:
    with time_machine.travel(datetime(2026, 10, 9, tzinfo=UTC), tick=False):
        sandbox.reset("empty")
        sandbox.put_account(ACCOUNT, balance=balance, usage_per_hour=2, usage_rhythm=False)
        sandbox.put_gateways(ACCOUNT, gateways=[{"id": "chat-app"}, {"id": "batch-jobs"}], mix=MIX)
        sandbox.advance(10 * 3600)
        return sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-preview"))


def test_an_itemised_preview_has_one_line_per_model_summing_to_the_invoice(sandbox, sandbox_api):
    preview = itemised_preview(sandbox, sandbox_api, balance=100_000)

    lines = preview["invoice_lines"]
    assert {line["description"] for line in lines} == {f"AI Gateway usage: {m}" for m in MODELS}
    assert sum(line["amount"] for line in lines) == 2000  # 10 hours at $2
    # Quantity in micro-dollars at 0.0001 cents each; the amount is that rounded to the cent.
    assert all(abs(Decimal(line["quantity"]) / 10_000 - line["amount"]) <= Decimal("0.5") for line in lines)
    assert all(line["pretax_credit_amounts"][0]["amount"] == line["amount"] for line in lines)
    assert preview["amount_due"] == 0
    assert preview["period_start"] == int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())


def test_a_negative_balance_leaves_part_of_the_lines_due(sandbox, sandbox_api):
    preview = itemised_preview(sandbox, sandbox_api, balance=500)  # $5, then $20 of usage

    credited = sum(line["pretax_credit_amounts"][0]["amount"] for line in preview["invoice_lines"])
    assert preview["amount_due"] == 2000 - credited > 0
    assert Decimal(sandbox_api.balance(ACCOUNT)) == -preview["amount_due"]


def test_a_period_before_september_2026_is_one_line(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT, balance=100_000, usage_per_hour=1)
    sandbox.advance(5 * 3600)

    preview = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-preview"))

    assert [line["description"] for line in preview["invoice_lines"]] == ["AI Gateway usage"]
    assert preview["invoice_lines"][0]["amount"] > 0
