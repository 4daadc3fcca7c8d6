"""Injected faults and the request log of the sandbox."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.support.sandbox_fixtures import ACCOUNT, VISA


@pytest.fixture
def account(sandbox):
    sandbox.put_account(ACCOUNT, balance=10_000, payment_method=VISA, first_topup_success=True)
    return ACCOUNT


def statuses(sandbox):
    return [entry["status"] for entry in sandbox.requests()]


def test_envelope_fault_hits_count_requests_then_is_used_up(sandbox, sandbox_api, account):
    sandbox.add_fault(method="GET", path_contains="credit-balance", count=2, status=503, body="envelope")
    codes = [sandbox_api.get(account, "credit-balance").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert statuses(sandbox) == [503, 503, 200]
    r = sandbox_api.get(account, "credit-balance")
    assert r.status_code == 200
    assert sandbox.call("GET", "faults")["faults"] == []


def test_fault_with_only_a_status_answers_the_error_envelope(sandbox, sandbox_api, account):
    sandbox.add_fault(status=429, retry_after=7)
    r = sandbox_api.get(account, "credit-balance")
    doc = r.json()
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert doc["success"] is False and doc["errors"][0]["code"] == 971 and doc["result"] is None


def test_fault_matches_method_and_path(sandbox, sandbox_api, account):
    sandbox.add_fault(method="POST", path_contains="/topup", status=500)
    assert sandbox_api.get(account, "topup/config").status_code == 200  # a GET is not matched
    assert sandbox_api.get(account, "credit-balance").status_code == 200
    assert (
        sandbox_api.post(account, "topup/config", json={"amount": 1000, "threshold": 500}).status_code == 500
    )


def test_html_fault_is_a_cloudflare_error_page(sandbox, sandbox_api, account):
    sandbox.add_fault(status=522, body="html")
    r = sandbox_api.get(account, "credit-balance")
    assert r.status_code == 522 and r.headers["Content-Type"].startswith("text/html")
    assert "Cloudflare Ray ID" in r.text and "522" in r.text
    sandbox.add_fault(body="html")
    assert sandbox_api.get(account, "credit-balance").status_code == 502  # the default for HTML pages


def test_truncated_fault_cuts_the_json(sandbox, sandbox_api, account):
    sandbox.add_fault(body="truncated", apply=True)
    r = sandbox_api.get(account, "credit-balance")
    assert r.status_code == 200 and r.text.startswith('{"success":true')
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


def test_empty_fault_sends_no_body(sandbox, sandbox_api, account):
    sandbox.add_fault(body="empty", status=200)
    r = sandbox_api.get(account, "credit-balance")
    assert r.status_code == 200 and r.content == b""


def test_reset_fault_drops_the_connection_without_an_answer(sandbox, sandbox_api, account):
    sandbox.add_fault(path_contains="credit-balance", body="reset")
    with pytest.raises(requests.ConnectionError):
        sandbox_api.get(account, "credit-balance")
    assert sandbox_api.get(account, "credit-balance").status_code == 200  # the next request is answered
    assert statuses(sandbox) == ["reset", 200]


def test_latency_only_fault_delays_a_normal_answer(sandbox, sandbox_api, account):
    sandbox.add_fault(latency_ms=300)
    started = time.perf_counter()
    r = sandbox_api.get(account, "credit-balance")
    assert r.status_code == 200 and time.perf_counter() - started >= 0.3
    entry = sandbox.requests()[-1]
    assert entry["status"] == 200 and entry["fault"] is None


def test_a_faulted_topup_is_not_created_unless_apply_is_set(sandbox, sandbox_api, account):
    sandbox.add_fault(method="POST", path_contains="/topup", status=500)
    assert sandbox_api.post(account, "topup", json={"amount": 5000}).status_code == 500
    assert sandbox.account(account)["topups"] == []


@pytest.mark.parametrize("fault", [{"status": 502, "body": "html"}, {"body": "reset"}, {"status": 504}])
def test_apply_makes_a_faulted_topup_charge_although_the_answer_is_lost(sandbox, sandbox_api, account, fault):
    sandbox.add_fault(method="POST", path_contains="/topup", apply=True, **fault)
    try:
        answered = sandbox_api.post(account, "topup", json={"amount": 5000}).status_code
    except requests.ConnectionError:
        answered = "reset"
    assert answered in (502, 504, "reset")
    sandbox.advance(5)
    state = sandbox.account(account)
    assert [(t["amount"], t["status"]) for t in state["topups"]] == [(5000, "completed")]
    assert state["balance"] == 15_000


def test_unlimited_fault_lasts_until_cleared(sandbox, sandbox_api, account):
    sandbox.add_fault(status=500, count=None)
    assert [sandbox_api.get(account, "credit-balance").status_code for _ in range(4)] == [500] * 4
    sandbox.clear_faults()
    assert sandbox_api.get(account, "credit-balance").status_code == 200


def test_faults_never_touch_the_control_api(sandbox, account):
    sandbox.add_fault(status=500, count=None)
    assert sandbox.account(account)["id"] == account
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"body": "garbage"},
        {"status": 99},
        {"count": 0},
        {"latency_ms": -1},
        {"apply": "yes"},
        {"colour": "red"},
    ],
)
def test_bad_fault_specs_are_refused(sandbox, bad):
    r = requests.post(sandbox.root_url + "/__sandbox__/faults", json=bad, timeout=5)
    assert r.status_code == 400 and r.json()["error"]


def test_request_log_records_method_path_query_body_and_status(sandbox, sandbox_api, account):
    sandbox_api.get(account, "usage-history", value_grouping_window="day", start_time=1000)
    sandbox_api.post(account, "topup", json={"amount": 999})
    sandbox_api.session.get(sandbox.base_url + "/nowhere", timeout=5)
    log = sandbox.requests()
    assert [(e["method"], e["status"]) for e in log] == [("GET", 200), ("POST", 400), ("GET", 404)]
    assert log[0]["path"].endswith(f"/accounts/{account}/ai-gateway/billing/usage-history")
    assert log[0]["query"] == {"value_grouping_window": "day", "start_time": "1000"}
    assert log[1]["body"] == {"amount": 999}
    assert all("sandbox-token" not in repr(e) for e in log)
    sandbox.clear_requests()
    assert sandbox.requests() == []


def test_request_log_keeps_unparseable_bodies_as_text(sandbox, sandbox_api, account):
    sandbox_api.post(account, "topup", data=b"amount=5000")
    assert sandbox.requests()[0]["body"] == "amount=5000"


def test_latency_fault_with_apply_takes_effect_at_once_and_answers_late(sandbox, sandbox_api, account):
    sandbox.configure(accept_dashboard_writes=True)
    sandbox.add_fault(method="POST", path_contains="topup/config", latency_ms=1500, apply=True)
    with pytest.raises(requests.Timeout):
        sandbox_api.session.post(
            sandbox_api.url(account, "topup/config"), json={"amount": 5000, "threshold": 2000}, timeout=0.2
        )
    # Applied before the answer was due: the client timed out on a change Cloudflare had made.
    assert sandbox.account(account)["topup_config"]["amount"] == 5000
    assert statuses(sandbox) == [200]
