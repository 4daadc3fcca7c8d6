"""The sandbox's balance history (a control-API demo aid): the balance at every hour boundary it passed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cloudflare_sandbox import DEMO_ACCOUNTS, SandboxServer
from cloudflare_sandbox.testing import ControlClientError, SandboxControl
from tests.support.sandbox_fixtures import ACCOUNT, VISA, SandboxApi, to_next_hour

HOUR_MS = 3_600_000


def balance_history(control: SandboxControl, account_id: str) -> dict:
    return control.call("GET", f"accounts/{account_id}/balance-history")


def test_demo_history_covers_ninety_days_and_ends_at_the_credit_balance(sandbox_demo, sandbox_api):
    boundary = to_next_hour(sandbox_demo)
    for account_id, name in DEMO_ACCOUNTS:
        doc = balance_history(sandbox_demo, account_id)
        balances = [Decimal(v) for v in doc["balances"]]
        assert doc["step_ms"] == HOUR_MS and doc["start_ms"] % HOUR_MS == 0
        assert len(balances) >= 90 * 24, name
        assert doc["start_ms"] + (len(balances) - 1) * HOUR_MS == boundary, name
        assert balances[-1] == sandbox_api.balance(account_id), name
        assert len(set(balances[-48:])) > 1, name  # usage moves it hour by hour


def test_history_shows_a_completed_topup_and_an_auto_topup(sandbox, sandbox_api):
    start = to_next_hour(sandbox)
    sandbox.put_account(
        ACCOUNT,
        balance=10_000,
        payment_method=VISA,
        first_topup_success=True,
        usage_per_hour=2,
        usage_rhythm=False,
    )
    sandbox.advance(3600)
    doc = balance_history(sandbox, ACCOUNT)
    assert doc["start_ms"] == start
    assert [Decimal(v) for v in doc["balances"]] == [10_000, 9_800]  # $2 of usage an hour is 200 cents

    sandbox_api.result(sandbox_api.post(ACCOUNT, "topup", json={"amount": 5_000}))
    sandbox.advance(3600)  # the top-up completes 5 s in
    assert Decimal(balance_history(sandbox, ACCOUNT)["balances"][-1]) == 9_800 - 200 + 5_000

    # Half an hour from now the balance falls below 14,500 cents and an auto top-up of $100 fires.
    sandbox.put_account(ACCOUNT, topup_config={"amount": 10_000, "threshold": 14_500})
    sandbox.advance(3600)
    state = sandbox.account(ACCOUNT)
    assert [(t["origin"], t["status"]) for t in state["topups"]] == [
        ("manual", "completed"),
        ("auto", "completed"),
    ]
    balances = [Decimal(v) for v in balance_history(sandbox, ACCOUNT)["balances"]]
    assert len(balances) == 4 and balances[-1] == sandbox_api.balance(ACCOUNT)
    # Splitting the hour at the threshold rounds each piece to the micro-dollar: a hundredth of a cent.
    assert abs(balances[-1] - (14_600 - 200 + 10_000)) <= Decimal("0.01")


def test_history_of_an_unknown_account_is_404(sandbox):
    with pytest.raises(ControlClientError) as error:
        balance_history(sandbox, ACCOUNT)
    assert error.value.status == 404


def test_reset_clears_the_history(sandbox_demo):
    prod = DEMO_ACCOUNTS[0][0]
    assert len(balance_history(sandbox_demo, prod)["balances"]) >= 90 * 24
    sandbox_demo.reset("empty")
    to_next_hour(sandbox_demo)
    sandbox_demo.put_account(prod, balance=700)
    assert [Decimal(v) for v in balance_history(sandbox_demo, prod)["balances"]] == [700]


def test_history_survives_a_restart_with_a_state_file(tmp_path):
    state = tmp_path / "sandbox.json"
    prod = DEMO_ACCOUNTS[0][0]
    with SandboxServer(state_file=state, seed="demo", speed=0.0) as srv:
        control = SandboxControl(srv.root_url)
        control.advance(2 * 3600)
        before = balance_history(control, prod)
    assert json.loads(state.read_text())["accounts"][0]["balance_history"]

    with SandboxServer(state_file=state, seed="empty", speed=0.0) as srv:
        control, api = SandboxControl(srv.root_url), SandboxApi(srv.base_url)
        after = balance_history(control, prod)
        assert after == before and len(after["balances"]) >= 90 * 24 + 2
        control.advance(3600)  # and it goes on from where it was
        later = balance_history(control, prod)
        assert later["balances"][: len(before["balances"])] == before["balances"]
        assert len(later["balances"]) == len(before["balances"]) + 1
        assert Decimal(later["balances"][-1]) >= api.balance(prod)  # usage since the boundary only lowers it
