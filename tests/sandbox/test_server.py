"""The sandbox as a server: state across restarts, concurrent clients, the command line, the control API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from cloudflare_sandbox import DEFAULT_TOKEN, DEMO_ACCOUNTS, SandboxServer
from cloudflare_sandbox.testing import ControlClientError, SandboxControl
from tests.support.clock import wait_for
from tests.support.paths import ROOT
from tests.support.sandbox_fixtures import ACCOUNT, VISA, SandboxApi


def test_server_starts_on_a_free_port_and_stops_as_a_context_manager():
    with SandboxServer() as srv:
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/client/v4" and srv.port > 0
        assert srv.root_url + "/client/v4" == srv.base_url
        assert requests.get(srv.root_url + "/__sandbox__/health", timeout=5).json()["ok"] is True
        port = srv.port
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/__sandbox__/health", timeout=2)


def test_demo_accounts_are_the_fixed_ids():
    assert DEFAULT_TOKEN == "sandbox-token"
    assert [name for _, name in DEMO_ACCOUNTS] == ["Acme Prod", "Acme Staging", "Labs", "Research"]
    assert DEMO_ACCOUNTS[0][0] == "1f0e3dad99908345f7439f8ffabdffc4"
    assert all(len(i) == 32 and int(i, 16) >= 0 for i, _ in DEMO_ACCOUNTS)


def test_state_survives_a_restart_with_a_state_file(tmp_path):
    state = tmp_path / "sandbox.json"
    with SandboxServer(state_file=state, speed=0.0, topup_delay_seconds=0) as srv:
        control, api = SandboxControl(srv.root_url), SandboxApi(srv.base_url)
        control.put_account(ACCOUNT, balance=Decimal("1234.5678"), payment_method=VISA, usage_per_hour=1)
        api.post(ACCOUNT, "topup", json={"amount": 5000})
        api.post(ACCOUNT, "spending-limit", json={"amount": 9000, "duration": "weekly", "strategy": "fixed"})
        control.advance(7200)
        before = {
            op: api.get(ACCOUNT, op, value_grouping_window="hour").json()["result"]
            for op in ("credit-balance", "usage-history", "invoice-history", "spending-limit")
        }
    assert json.loads(state.read_text())["accounts"][0]["id"] == ACCOUNT
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]  # no temporary files left behind

    with SandboxServer(state_file=state, seed="demo", speed=0.0) as srv:
        api = SandboxApi(srv.base_url)
        after = {
            op: api.get(ACCOUNT, op, value_grouping_window="hour").json()["result"]
            for op in ("credit-balance", "usage-history", "invoice-history", "spending-limit")
        }
        assert (
            api.get(DEMO_ACCOUNTS[0][0], "credit-balance").status_code == 404
        )  # the state file wins over a seed
    # Invoice PDF links carry the server's address, which changed with the port.
    for doc in (before, after):
        for invoice in doc["invoice-history"]["invoices"]:
            invoice.pop("invoice_pdf")
    assert after == before


def test_state_file_is_written_soon_after_a_change_without_stopping(tmp_path):
    state = tmp_path / "state.json"
    with SandboxServer(state_file=state, speed=0.0) as srv:
        SandboxControl(srv.root_url).put_account(ACCOUNT, balance=42)
        # A generous bound on "soon": the saver writes within a quarter of a second of a change.
        wait_for(lambda: state.exists() and json.loads(state.read_text())["accounts"], timeout=30)
        assert json.loads(state.read_text())["accounts"][0]["balance"] == "42"


def test_fifty_concurrent_clients_do_not_corrupt_state(sandbox, sandbox_server):
    sandbox.configure(topup_delay_seconds=0)
    sandbox.put_account(ACCOUNT, balance=0, payment_method=VISA)

    def client(_: int) -> list[int]:
        api = SandboxApi(sandbox_server.base_url)
        codes = [api.post(ACCOUNT, "topup", json={"amount": 1000}).status_code]
        codes += [
            api.get(ACCOUNT, op).status_code for op in ("credit-balance", "invoice-history", "topup/config")
        ]
        codes.append(api.post(ACCOUNT, "topup", json={"amount": 2000}).status_code)
        api.session.close()
        return codes

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(client, range(50)))
    assert all(codes == [200] * 5 for codes in results)
    state = sandbox.account(ACCOUNT)
    assert state["balance"] == 50 * 3000
    assert state["invoices_count"] == 100 and len({t["payment_intent_id"] for t in state["topups"]}) == 100
    assert len(sandbox.requests()) == 250


def test_control_api_validates_and_404s(sandbox):
    for body, field in [
        ({"balance": "lots"}, "balance"),
        ({"payment_method": {"brand": "visa"}}, "payment_method"),
        ({"usage_per_hour": -1}, "usage_per_hour"),
        ({"colour": 1}, "colour"),
        ({"spending_limit": {"amount": 1}}, "spending_limit"),
    ]:
        with pytest.raises(ControlClientError) as err:
            sandbox.put_account(ACCOUNT, **body)
        assert err.value.status == 400 and field in err.value.doc["error"]
    with pytest.raises(ControlClientError) as err:
        sandbox.put_account("not-hex", balance=1)
    assert err.value.status == 400
    with pytest.raises(ControlClientError) as err:
        sandbox.account(ACCOUNT)
    assert err.value.status == 404
    with pytest.raises(ControlClientError) as err:
        sandbox.reset("everything")
    assert err.value.status == 400
    with pytest.raises(ControlClientError) as err:
        sandbox.advance(-5)
    assert err.value.status == 400


def test_reset_restores_default_settings_and_clears_faults(sandbox, sandbox_api):
    sandbox.configure(rate_limit=[1, 300], restrict_like_production=True, topup_delay_seconds=60)
    sandbox.add_fault(status=500, count=None)
    sandbox.reset("empty")
    settings = sandbox.call("GET", "config")
    assert settings["rate_limit"] == [1200, 300] and settings["restrict_like_production"] is False
    assert settings["topup_delay_seconds"] == 5 and sandbox.call("GET", "faults")["faults"] == []


def test_put_account_creates_then_reshapes(sandbox):
    created = sandbox.put_account(ACCOUNT, balance=500, usage_per_hour=Decimal("0.25"), name="Team X")
    assert (
        created["name"] == "Team X"
        and created["balance"] == 500
        and created["usage_per_hour"] == Decimal("0.25")
    )
    changed = sandbox.put_account(ACCOUNT, payment_method=VISA, first_topup_success=True)
    assert (
        changed["balance"] == 500 and changed["has_default_payment_method"] and changed["first_topup_success"]
    )
    assert sandbox.put_account(ACCOUNT, payment_method=None)["payment_method"] is None


def test_restrict_like_production_from_the_constructor():
    with SandboxServer(restrict_like_production=True, speed=0.0) as srv:
        SandboxControl(srv.root_url).put_account(ACCOUNT, first_topup_success=True)
        r = SandboxApi(srv.base_url).post(ACCOUNT, "topup/config", json={"amount": 1000, "threshold": 500})
        assert r.status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.process
def test_command_line_serves_logs_each_request_without_the_token_and_saves_on_stop(tmp_path):
    port, state = _free_port(), tmp_path / "cli-state.json"
    command = [
        sys.executable,
        "-m",
        "cloudflare_sandbox",
        "--port",
        str(port),
        "--token",
        "cli-secret-token",
        "--seed",
        "demo",
        "--state",
        str(state),
        "--speed",
        "2",
        "--rate-limit",
        "3/60",
        "--topup-delay",
        "0",
        "--restrict-like-production",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        control = SandboxControl(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60  # a generous bound on the command's start
        while True:
            try:
                control.call("GET", "health")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        api = SandboxApi(control.base_url, token="cli-secret-token")
        prod = DEMO_ACCOUNTS[0][0]
        assert api.get(prod, "credit-balance").status_code == 200
        assert api.post(prod, "topup/config", json={"amount": 1000, "threshold": 500}).status_code == 403
        assert api.get(prod, "topup/limits").status_code == 200
        assert api.get(prod, "topup/limits").status_code == 429
        settings = control.call("GET", "config")
        assert settings["speed"] == 2 and settings["topup_delay_seconds"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0
    lines = [line for line in stderr.splitlines() if "/client/v4/" in line]
    assert len(lines) == 4 and "-> 429" in lines[-1]
    assert "cli-secret-token" not in stderr
    assert len(json.loads(state.read_text())["accounts"]) == 4
