"""What the ledger's tests need from the sandbox: credit moved behind the portal's back, usage billed late,
and the demo's support credit."""

from decimal import Decimal
from itertools import pairwise

import pytest

from cloudflare_sandbox import DEMO_ACCOUNTS
from cloudflare_sandbox.testing import ControlClientError
from tests.support.sandbox_fixtures import ACCOUNT, to_next_hour

HOUR = 3600
STAGING = DEMO_ACCOUNTS[1][0]


def history(api, window="hour"):
    entries = api.result(api.get(ACCOUNT, "usage-history", value_grouping_window=window))["history"]
    return sum((Decimal(e["aggregated_value"]) for e in entries), Decimal(0))


def test_credit_behind_the_portals_back_moves_the_balance_with_no_top_up_or_invoice(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT, balance=1000)

    sandbox.credit(ACCOUNT, 2500)
    sandbox.credit(ACCOUNT, -300)

    assert sandbox_api.balance(ACCOUNT) == 3200
    invoices = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history"))["invoices"]
    assert invoices == [] and sandbox.account(ACCOUNT)["topups"] == []


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": 1.5}, {"amount": 100, "note": "x"}, {}])
def test_a_credit_must_be_a_whole_non_zero_number_of_cents(sandbox, body):
    sandbox.put_account(ACCOUNT, balance=1000)
    with pytest.raises(ControlClientError) as refused:
        sandbox.call("POST", f"accounts/{ACCOUNT}/credit", body)
    assert refused.value.status == 400


def test_usage_billed_late_is_paid_for_at_once_and_reported_hours_later(sandbox, sandbox_api):
    to_next_hour(sandbox)
    sandbox.put_account(ACCOUNT, balance=10_000, usage_per_hour=1, usage_rhythm=False)
    sandbox.advance(2 * HOUR)
    sandbox.put_account(ACCOUNT, usage_delay_hours=3)

    sandbox.advance(4 * HOUR)

    assert sandbox_api.balance(ACCOUNT) == 9400  # six hours paid for
    assert history(sandbox_api) == 3  # the two reported before the delay, and one that is 3 hours old
    assert history(sandbox_api, "day") == 3
    sandbox.put_account(ACCOUNT, usage_delay_hours=0)
    assert history(sandbox_api) == history(sandbox_api, "day") == 6


def test_the_demo_gives_acme_staging_credit_from_elsewhere(sandbox_demo):
    balances = sandbox_demo.call("GET", f"accounts/{STAGING}/balance-history")["balances"]
    rises = [after - before for before, after in pairwise(balances) if after > before]
    # $25 less the hour's usage around it (a few cents); the $50 top-ups rise by about 5000 cents.
    assert len([rise for rise in rises if 2400 < rise < 2500]) == 1
