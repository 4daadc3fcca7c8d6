"""The sandbox's billing API over real HTTP: envelope, auth, routing, validation and every operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from cloudflare_sandbox.jsonutil import loads
from cloudflare_sandbox.testing import ControlClientError
from tests.support.sandbox_fixtures import ACCOUNT, VISA, SandboxApi

ENVELOPE_KEYS = {"success", "errors", "messages", "result", "result_info"}


def funded(sandbox, **extra):
    fields = {"balance": 10_000, "payment_method": VISA, "first_topup_success": True, **extra}
    return sandbox.put_account(ACCOUNT, **fields)


def error_of(response: requests.Response) -> dict:
    doc = loads(response.content)
    assert set(doc) == ENVELOPE_KEYS
    assert doc["success"] is False and doc["result"] is None
    return doc["errors"][0]


# -- envelope, auth, routing ---------------------------------------------------------------------


def test_success_and_error_answers_carry_the_whole_envelope(sandbox, sandbox_api):
    funded(sandbox)
    ok = sandbox_api.get(ACCOUNT, "credit-balance")
    assert ok.status_code == 200 and ok.headers["Content-Type"] == "application/json"
    doc = loads(ok.content)
    assert set(doc) == ENVELOPE_KEYS and doc["success"] is True and doc["errors"] == []
    assert error_of(sandbox_api.get("f" * 32, "credit-balance"))["code"] == 7003


def test_result_info_is_an_object_never_null(sandbox, sandbox_api):
    funded(sandbox)
    for op in ("credit-balance", "topup/limits", "invoice-preview"):
        assert loads(sandbox_api.get(ACCOUNT, op).content)["result_info"] == {}
    assert loads(sandbox_api.get("f" * 32, "credit-balance").content)["result_info"] == {}
    paged = loads(sandbox_api.get(ACCOUNT, "invoice-history").content)["result_info"]
    assert paged == {"has_more": False, "page": 1, "per_page": 20, "total_count": 0}


def test_missing_token_is_401_authentication_error(sandbox):
    funded(sandbox)
    r = requests.get(SandboxApi(sandbox.base_url).url(ACCOUNT, "credit-balance"), timeout=5)
    assert r.status_code == 401
    assert error_of(r) == {"code": 10000, "message": "Authentication error"}


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Basic c2FuZGJveC10b2tlbg==", "sandbox-token"])
def test_wrong_token_is_403_and_never_echoed(sandbox, header):
    funded(sandbox)
    url = SandboxApi(sandbox.base_url).url(ACCOUNT, "credit-balance")
    r = requests.get(url, headers={"Authorization": header}, timeout=5)
    assert r.status_code == 403
    assert error_of(r)["code"] == 10000
    assert "wrong-token" not in r.text and "c2FuZGJveC10b2tlbg" not in r.text


def test_unknown_account_is_404_code_7003(sandbox, sandbox_api):
    r = sandbox_api.get("abcdefabcdefabcdefabcdefabcdef00", "credit-balance")
    assert r.status_code == 404 and error_of(r)["code"] == 7003


@pytest.mark.parametrize(
    "path", ["/client/v4/accounts/x/ai-gateway/billing/nothing", "/client/v4/zones", "/favicon.ico"]
)
def test_unknown_route_is_404_in_the_envelope(sandbox, sandbox_api, path):
    r = sandbox_api.session.get(sandbox.root_url + path, timeout=5)
    assert r.status_code == 404 and error_of(r)["code"] == 7000


def test_wrong_method_on_a_known_route_is_405(sandbox, sandbox_api):
    funded(sandbox)
    r = sandbox_api.session.put(sandbox_api.url(ACCOUNT, "credit-balance"), json={}, timeout=5)
    assert r.status_code == 405 and error_of(r)["code"] == 10405


# -- validation ----------------------------------------------------------------------------------

BODY_CASES = [
    ("topup", None, "request body"),
    ("topup", b"{not json", "request body"),
    ("topup", [5000], "request body"),
    ("topup", {}, "amount: required"),
    ("topup", {"amount": "5000"}, "amount: must be an integer"),
    ("topup", {"amount": 5000.0}, "amount: must be an integer"),
    ("topup", {"amount": True}, "amount: must be an integer"),
    ("topup", {"amount": 999}, "amount: must be at least 1000"),
    ("topup", {"amount": 100_001}, "amount: must be at most 100000"),
    ("topup", {"amount": 5000, "currency": "usd"}, "currency: unknown field"),
    ("topup", {"amount": 5000, "payment_method_id": 7}, "payment_method_id"),
    ("topup/status", {}, "payment_intent_id: required"),
    ("topup/status", {"payment_intent_id": 12}, "payment_intent_id: must be a non-empty string"),
    ("topup/config", {"amount": 1000}, "threshold: required"),
    ("topup/config", {"amount": 999, "threshold": 500}, "amount: must be at least 1000"),
    ("topup/config", {"amount": 1000, "threshold": 499}, "threshold: must be at least 500"),
    ("topup/config", {"amount": 1000, "threshold": 500.5}, "threshold: must be an integer"),
    (
        "spending-limit",
        {"amount": 99, "duration": "daily", "strategy": "fixed"},
        "amount: must be at least 100",
    ),
    (
        "spending-limit",
        {"amount": 100, "duration": "yearly", "strategy": "fixed"},
        "duration: must be one of",
    ),
    (
        "spending-limit",
        {"amount": 100, "duration": "daily", "strategy": "rolling"},
        "strategy: must be one of",
    ),
    ("spending-limit", {"amount": 100, "duration": "daily"}, "strategy: required"),
]


@pytest.mark.parametrize(("op", "body", "message"), BODY_CASES)
def test_bad_bodies_get_400_naming_the_field_and_change_nothing(sandbox, sandbox_api, op, body, message):
    funded(sandbox)
    sandbox.configure(accept_dashboard_writes=True)  # else the dashboard-only writes are refused before
    if isinstance(body, bytes):
        r = sandbox_api.post(ACCOUNT, op, data=body)
    else:
        r = sandbox_api.post(ACCOUNT, op, json=body)
    assert r.status_code == 400
    messages = [e["message"] for e in loads(r.content)["errors"]]
    assert any(message in m for m in messages), messages
    state = sandbox.account(ACCOUNT)
    assert state["topups"] == [] and state["topup_config"] is None and state["spending_limit"] is None


def test_all_field_problems_are_reported_together(sandbox, sandbox_api):
    funded(sandbox)
    sandbox.configure(accept_dashboard_writes=True)
    r = sandbox_api.post(ACCOUNT, "spending-limit", json={"amount": 1, "duration": "x", "strategy": "y"})
    fields = sorted(e["message"].split(":")[0] for e in loads(r.content)["errors"])
    assert fields == ["amount", "duration", "strategy"]


QUERY_CASES = [
    ("usage-history", {}, "value_grouping_window: required"),
    ("usage-history", {"value_grouping_window": "week"}, "value_grouping_window: must be one of"),
    ("usage-history", {"value_grouping_window": "day", "start_time": "yesterday"}, "start_time"),
    ("usage-history", {"value_grouping_window": "day", "end_time": "-5"}, "end_time"),
    ("usage-history", {"value_grouping_window": "day", "start_time": 2000, "end_time": 1000}, "start_time"),
    ("invoice-history", {"type": "refund"}, "type: must be one of"),
]


@pytest.mark.parametrize(("op", "params", "message"), QUERY_CASES)
def test_bad_query_parameters_get_400_naming_the_parameter(sandbox, sandbox_api, op, params, message):
    funded(sandbox)
    r = sandbox_api.get(ACCOUNT, op, **params)
    assert r.status_code == 400
    assert message in error_of(r)["message"]


# -- operations ----------------------------------------------------------------------------------


def test_credit_balance_reports_cents_card_and_camelcase_topup_config(sandbox, sandbox_api):
    sandbox.put_account(
        ACCOUNT,
        balance=Decimal("120450.1234"),
        payment_method=VISA,
        first_topup_success=True,
        topup_config={
            "amount": 5000,
            "threshold": 2000,
            "error": "card_declined",
            "disabledReason": "payment_failed",
            "lastFailedAt": 1760000000,
        },
    )
    r = sandbox_api.get(ACCOUNT, "credit-balance")
    assert '"balance":120450.1234' in r.text  # exact on the wire, no float rounding
    assert sandbox_api.result(r) == {
        "balance": Decimal("120450.1234"),
        "has_default_payment_method": True,
        "payment_method": VISA,
        "topup_config": {
            "amount": 5000,
            "threshold": 2000,
            "error": "card_declined",
            "disabledReason": "payment_failed",
            "lastFailedAt": 1760000000,
        },
        "first_topup_success": True,
    }


def test_account_without_card_or_config_reports_nulls(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT)
    result = sandbox_api.result(sandbox_api.get(ACCOUNT, "credit-balance"))
    assert result["balance"] == 0 and result["payment_method"] is None
    assert result["has_default_payment_method"] is False and result["first_topup_success"] is False
    assert result["topup_config"] == dict.fromkeys(
        ["amount", "threshold", "error", "disabledReason", "lastFailedAt"]
    )


def test_topup_is_pending_then_completes_and_only_then_adds_credit(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT, balance=0, payment_method=VISA)
    created = sandbox_api.result(sandbox_api.post(ACCOUNT, "topup", json={"amount": 5000}))
    pi = created["payment_intent_id"]
    # `payment_intent_id` is the Stripe invoice id, as Cloudflare documents; the secret is a payment intent's
    assert pi.startswith("in_") and pi == sandbox.account(ACCOUNT)["topups"][0]["invoice_id"]
    assert created["client_secret"].startswith("pi_") and "_secret_" in created["client_secret"]
    assert created["onboarding"] is False and (created["brand"], created["last4"]) == ("visa", "4242")
    status = sandbox_api.result(sandbox_api.post(ACCOUNT, "topup/status", json={"payment_intent_id": pi}))
    assert status == {"payment_intent_id": pi, "status": "pending"}
    assert sandbox_api.balance(ACCOUNT) == 0
    invoice = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history"))["invoices"][0]
    assert (invoice["status"], invoice["amount_due"], invoice["amount_paid"]) == ("open", 5250, 0)  # 5 % fee

    sandbox.advance(5)
    status = sandbox_api.result(sandbox_api.post(ACCOUNT, "topup/status", json={"payment_intent_id": pi}))
    assert status["status"] == "completed"
    credit = sandbox_api.result(sandbox_api.get(ACCOUNT, "credit-balance"))
    assert credit["balance"] == 5000 and credit["first_topup_success"] is True
    invoice = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history"))["invoices"][0]
    assert invoice["status"] == "paid" and invoice["amount_paid"] == invoice["amount_due"] == 5250
    assert invoice["amount_remaining"] == 0 and invoice["invoice_origin"] == "manual"
    # The second top-up of an onboarded account says so.
    again = sandbox_api.result(sandbox_api.post(ACCOUNT, "topup", json={"amount": 1000}))
    assert again["onboarding"] is True


def test_topup_status_accepts_the_invoice_id_and_404s_an_unknown_one(sandbox, sandbox_api):
    funded(sandbox)
    pi = sandbox_api.result(sandbox_api.post(ACCOUNT, "topup", json={"amount": 1000}))["payment_intent_id"]
    invoice_id = sandbox.account(ACCOUNT)["topups"][0]["invoice_id"]
    by_invoice = sandbox_api.result(
        sandbox_api.post(ACCOUNT, "topup/status", json={"payment_intent_id": invoice_id})
    )
    assert by_invoice["payment_intent_id"] == pi
    r = sandbox_api.post(ACCOUNT, "topup/status", json={"payment_intent_id": "pi_unknown"})
    assert r.status_code == 404 and "pi_unknown" in error_of(r)["message"]


def test_topup_without_a_card_is_refused_clearly(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT, balance=0)
    r = sandbox_api.post(ACCOUNT, "topup", json={"amount": 5000})
    assert r.status_code == 400 and "payment method" in error_of(r)["message"]
    assert sandbox.account(ACCOUNT)["topups"] == []


def test_topup_with_a_one_off_payment_method_needs_no_default_card(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT, balance=0)
    r = sandbox_api.post(ACCOUNT, "topup", json={"amount": 5000, "payment_method_id": "pm_card_visa"})
    assert r.status_code == 200
    assert [t["amount"] for t in sandbox.account(ACCOUNT)["topups"]] == [5000]


def test_topup_limits_are_the_cent_bounds(sandbox, sandbox_api):
    funded(sandbox)
    limits = sandbox_api.result(sandbox_api.get(ACCOUNT, "topup/limits"))
    assert limits == {"min_cents": 1000, "max_cents": 100000, "currency": "USD"}


def test_auto_topup_config_set_get_delete(sandbox, sandbox_api):
    funded(sandbox)
    sandbox.configure(accept_dashboard_writes=True)
    r = sandbox_api.post(ACCOUNT, "topup/config", json={"amount": 5000, "threshold": 1000})
    assert r.status_code == 200 and sandbox_api.result(r) == {"amount": 5000, "threshold": 1000}
    got = sandbox_api.result(sandbox_api.get(ACCOUNT, "topup/config"))
    assert got == {
        "amount": 5000,
        "threshold": 1000,
        "error": None,
        "disabledReason": None,
        "lastFailedAt": None,
    }
    assert sandbox_api.result(sandbox_api.delete(ACCOUNT, "topup/config")) == {}
    assert sandbox_api.result(sandbox_api.get(ACCOUNT, "topup/config"))["amount"] is None


def test_spending_limit_needs_a_first_successful_topup(sandbox, sandbox_api):
    sandbox.configure(accept_dashboard_writes=True)
    sandbox.put_account(ACCOUNT, balance=5000, payment_method=VISA, first_topup_success=False)
    body = {"amount": 10_000, "duration": "monthly", "strategy": "fixed"}
    r = sandbox_api.post(ACCOUNT, "spending-limit", json=body)
    assert r.status_code == 400 and "first successful top-up" in error_of(r)["message"]
    sandbox_api.post(ACCOUNT, "topup", json={"amount": 1000})
    sandbox.advance(5)
    r = sandbox_api.post(ACCOUNT, "spending-limit", json=body)
    assert r.status_code == 201 and sandbox_api.result(r) == {}
    assert sandbox_api.result(sandbox_api.get(ACCOUNT, "spending-limit")) == {"config": body, "enabled": True}
    assert sandbox_api.result(sandbox_api.delete(ACCOUNT, "spending-limit")) == {}
    assert sandbox_api.result(sandbox_api.get(ACCOUNT, "spending-limit")) == {"config": {}, "enabled": False}


def test_invoice_history_filters_by_type_newest_first_and_paginates(sandbox, sandbox_api):
    funded(sandbox, balance=1_500, topup_config={"amount": 2000, "threshold": 1000})
    sandbox.put_account(ACCOUNT, usage_per_hour=1, usage_rhythm=False)
    sandbox.advance(6 * 3600)  # $6 of usage takes the balance below $10: the auto top-up fires
    sandbox_api.post(ACCOUNT, "topup", json={"amount": 1000})
    sandbox.advance(60)
    sandbox_api.post(ACCOUNT, "topup", json={"amount": 3000})
    everything = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history"))
    origins = [i["invoice_origin"] for i in everything["invoices"]]
    assert origins == ["manual", "manual", "auto"]
    assert everything["pagination"] == {"has_more": False, "page": 1, "per_page": 20, "total_count": 3}
    created = [i["created"] for i in everything["invoices"]]
    assert created == sorted(created, reverse=True)
    auto = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", type="auto"))["invoices"]
    manual = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", type="manual"))["invoices"]
    assert [i["amount_due"] for i in auto] == [2100] and len(manual) == 2
    page = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", per_page=2, page=2))
    assert len(page["invoices"]) == 1 and page["pagination"]["has_more"] is False
    invoice = everything["invoices"][0]
    expected = {
        "id",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "currency",
        "attempt_count",
        "attempted",
        "auto_advance",
        "created",
        "created_by",
        "description",
        "invoice_origin",
        "invoice_pdf",
        "status",
    }
    assert set(invoice) == expected and invoice["currency"] == "usd"
    pdf = requests.get(invoice["invoice_pdf"], timeout=5)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def manual_invoices(sandbox, sandbox_api, count: int) -> None:
    """Makes `count` manual top-ups, each with its invoice."""
    funded(sandbox, balance=0)
    for n in range(count):
        assert sandbox_api.post(ACCOUNT, "topup", json={"amount": 1000 + 100 * n}).status_code == 200


def test_invoice_history_pages_by_twenty_by_default(sandbox, sandbox_api):
    manual_invoices(sandbox, sandbox_api, 23)
    first = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", type="manual"))
    assert len(first["invoices"]) == 20
    assert first["pagination"] == {"has_more": True, "page": 1, "per_page": 20, "total_count": 23}
    second = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", type="manual", page=2))
    assert len(second["invoices"]) == 3 and second["pagination"]["has_more"] is False
    ids = [i["id"] for i in first["invoices"] + second["invoices"]]
    assert len(set(ids)) == 23
    past = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", page=3))
    assert past["invoices"] == [] and past["pagination"]["has_more"] is False


@pytest.mark.parametrize("query", [{"per_page": 0}, {"per_page": 101}, {"page": 0}, {"page": "x"}])
def test_invoice_history_refuses_page_numbers_out_of_range(sandbox, sandbox_api, query):
    funded(sandbox)
    r = sandbox_api.get(ACCOUNT, "invoice-history", **query)
    assert r.status_code == 400 and error_of(r)["message"].startswith(next(iter(query)))


def test_the_invoice_paging_switch_makes_every_page_the_first(sandbox, sandbox_api):
    manual_invoices(sandbox, sandbox_api, 23)
    assert sandbox.configure(invoice_paging=False)["invoice_paging"] is False
    first = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", type="manual"))
    again = sandbox_api.result(
        sandbox_api.get(ACCOUNT, "invoice-history", type="manual", page=2, per_page=50)
    )
    assert again == first and len(first["invoices"]) == 20
    assert first["pagination"] == {"has_more": True, "page": 1, "per_page": 20, "total_count": 23}
    with pytest.raises(ControlClientError) as refused:
        sandbox.configure(invoice_paging="no")
    assert refused.value.status == 400


def advance_to_mid_month(sandbox) -> None:
    """Move the clock to 10:00 UTC on the 2nd of next month, so a test's hours stay in one month."""
    now = datetime.fromtimestamp(sandbox.clock()["now"], UTC)
    first_next = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(
        day=1
    )
    sandbox.advance((first_next + timedelta(days=1, hours=10) - now).total_seconds())


def test_invoice_preview_bills_this_months_usage_against_credits(sandbox, sandbox_api):
    advance_to_mid_month(sandbox)
    sandbox.put_account(ACCOUNT, balance=100, usage_per_hour=Decimal("0.5"), usage_rhythm=False)
    sandbox.advance(3 * 3600)  # $1.50 of usage: 150 cents, the balance goes to -50 cents
    preview = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-preview"))
    month_usage = sum(
        Decimal(h["aggregated_value"])
        for h in sandbox_api.result(
            sandbox_api.get(
                ACCOUNT,
                "usage-history",
                value_grouping_window="hour",
                start_time=preview["period_start"] * 1000,
            )
        )["history"]
    )
    (line,) = preview["invoice_lines"]
    assert line["amount"] == int(month_usage * 100) == 150
    assert line["pretax_credit_amounts"][0]["amount"] == 100  # credits covered what the balance held
    assert preview["amount_due"] == preview["amount_remaining"] == 50
    assert preview["status"] == "draft" and preview["currency"] == "usd"
    assert line["period"] == {"start": preview["period_start"], "end": preview["period_end"]}
    assert preview["period_end"] - preview["period_start"] >= 28 * 86400


# -- production restrictions and the rate limit --------------------------------------------------


def test_by_default_refuses_what_cloudflare_refuses_to_tokens_and_changes_nothing(sandbox, sandbox_api):
    funded(sandbox, topup_config={"amount": 2000, "threshold": 1000})
    refused = [
        sandbox_api.post(ACCOUNT, "topup/config", json={"amount": 5000, "threshold": 1000}),
        sandbox_api.delete(ACCOUNT, "topup/config"),
        sandbox_api.post(
            ACCOUNT, "spending-limit", json={"amount": 100, "duration": "daily", "strategy": "fixed"}
        ),
    ]
    for r in refused:
        assert r.status_code == 403 and error_of(r)["code"] == 10000
        assert error_of(r)["message"].startswith("Authentication error")
    assert "Dashboard sessions only" in error_of(refused[0])["message"]
    assert "can no longer be created" in error_of(refused[2])["message"]
    state = sandbox.account(ACCOUNT)
    assert state["topup_config"]["amount"] == 2000 and state["spending_limit"] is None
    allowed = [
        sandbox_api.get(ACCOUNT, "topup/config"),
        sandbox_api.post(ACCOUNT, "topup", json={"amount": 1000}),
        sandbox_api.delete(ACCOUNT, "spending-limit"),
    ]
    assert [r.status_code for r in allowed] == [200, 200, 200]


def test_the_demo_switch_lets_the_dashboard_only_writes_through(sandbox, sandbox_api):
    funded(sandbox)
    assert sandbox.configure(accept_dashboard_writes=True)["accept_dashboard_writes"] is True
    limit = {"amount": 100, "duration": "daily", "strategy": "fixed"}
    codes = [
        sandbox_api.post(ACCOUNT, "topup/config", json={"amount": 5000, "threshold": 1000}).status_code,
        sandbox_api.post(ACCOUNT, "spending-limit", json=limit).status_code,
    ]
    assert codes == [200, 201]
    state = sandbox.account(ACCOUNT)
    assert state["topup_config"]["amount"] == 5000 and state["spending_limit"] == limit
    assert sandbox_api.delete(ACCOUNT, "topup/config").status_code == 200
    assert sandbox.account(ACCOUNT)["topup_config"] is None


def test_rate_limit_answers_429_with_retry_after_for_the_rest_of_the_window(sandbox, sandbox_api):
    funded(sandbox)
    sandbox.configure(rate_limit=[3, 60])
    codes = [sandbox_api.get(ACCOUNT, "credit-balance").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = sandbox_api.get(ACCOUNT, "credit-balance")
    assert error_of(r)["code"] == 971
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert sandbox.account(ACCOUNT)["id"] == ACCOUNT  # the control API is never limited


def test_rate_limit_window_reopens(sandbox, sandbox_api, machine_clock):
    funded(sandbox)
    sandbox.configure(rate_limit=[2, 1])
    assert [sandbox_api.get(ACCOUNT, "topup/limits").status_code for _ in range(3)] == [200, 200, 429]
    machine_clock.advance(1.1)
    assert sandbox_api.get(ACCOUNT, "topup/limits").status_code == 200
