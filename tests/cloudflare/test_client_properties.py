"""Property tests: whatever a server answers, the client returns a typed result or raises a CloudflareError.

The server is a real HTTP server on a local port that answers with bodies hypothesis makes up, so the whole
path (requests, headers, decoding, envelope, parsing) runs on every example.
"""

import copy
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing import cloudflare as cf
from billing.cloudflare import BillingClient, CloudflareError, OutcomeUnknownError

TOKEN = "prop-test-token-7f3a9c1e5b"
ACCOUNT = "acc-prop"


class _Answer:
    status = 200
    content_type = "application/json"
    body = b"{}"
    headers: dict = {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One buffered write per answer: headers and body in separate segments meet delayed ACKs (40 ms each).
    wbufsize = -1

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.server.answer
        self.send_response(answer.status)
        if answer.content_type is not None:
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.answer = _Answer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def client(server):
    base = f"http://127.0.0.1:{server.server_address[1]}/client/v4"
    with BillingClient(TOKEN, base_url=base, max_retries=0, timeout=(2, 5)) as c:
        yield c


def _answer(server, status=200, body=b"", content_type="application/json", headers=None):
    answer = _Answer()
    answer.status, answer.body, answer.content_type = status, body, content_type
    answer.headers = headers or {}
    server.answer = answer


def _dump(value) -> str:
    """JSON text with Decimals written as their exact digits (the json module cannot write Decimal)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value)


# Each operation: how to call it, the type of a success, and a valid result as Cloudflare would send it.
OPERATIONS = {
    "credit_balance": (
        lambda c: c.credit_balance(account_id=ACCOUNT),
        cf.CreditBalance,
        {
            "balance": Decimal("1204.5"),
            "has_default_payment_method": True,
            "payment_method": {"brand": "visa", "last4": "4242"},
            "topup_config": {
                "amount": 5000,
                "threshold": 1000,
                "disabledReason": None,
                "error": None,
                "lastFailedAt": None,
            },
            "first_topup_success": True,
        },
    ),
    "usage_history": (
        lambda c: c.usage_history(account_id=ACCOUNT, value_grouping_window="day"),
        cf.UsageHistory,
        {"history": [{"id": "u1", "aggregated_value": Decimal("0.3"), "start_time": 1, "end_time": 2}]},
    ),
    "invoice_history": (
        lambda c: c.invoice_history(account_id=ACCOUNT),
        cf.InvoiceHistory,
        {
            "invoices": [{"amount_due": 500, "amount_paid": 500, "amount_remaining": 0, "currency": "usd"}],
            "pagination": {"has_more": False, "page": 1, "per_page": 20, "total_count": 1},
        },
    ),
    "invoice_preview": (
        lambda c: c.invoice_preview(account_id=ACCOUNT),
        cf.InvoicePreview,
        {
            "id": "in_1",
            "amount_due": 1240,
            "amount_paid": 0,
            "amount_remaining": 1240,
            "currency": "usd",
            "period_start": 1700000000,
            "period_end": 1702592000,
            "status": "draft",
            "invoice_lines": [
                {
                    "amount": 1240,
                    "currency": "usd",
                    "period": {"start": 1700000000, "end": 1702592000},
                    "pricing": {"unit_amount_decimal": "0.0001"},
                    "quantity": 124000,
                    "pretax_credit_amounts": [{"amount": 100, "type": "credit_balance_transaction"}],
                }
            ],
        },
    ),
    "topup.create": (
        lambda c: c.topup.create(account_id=ACCOUNT, amount=5000),
        cf.TopupCreateResult,
        {"onboarding": False, "payment_intent_id": "pi_1", "client_secret": None},
    ),
    "topup.limits": (
        lambda c: c.topup.limits(account_id=ACCOUNT),
        cf.TopupLimits,
        {"min_cents": 1000, "max_cents": 100000, "currency": "USD"},
    ),
    "topup.status": (
        lambda c: c.topup.status(account_id=ACCOUNT, payment_intent_id="pi_1"),
        cf.TopupStatus,
        {"payment_intent_id": "pi_1", "status": "pending"},
    ),
    "topup.config.get": (
        lambda c: c.topup.config.get(account_id=ACCOUNT),
        cf.TopupConfig,
        {"amount": 5000, "threshold": 1000, "disabled_reason": "card_declined", "lastFailedAt": 1700000000},
    ),
    "topup.config.create": (
        lambda c: c.topup.config.create(account_id=ACCOUNT, amount=5000, threshold=1000),
        cf.TopupConfigSet,
        {"amount": 5000, "threshold": 1000},
    ),
    "topup.config.delete": (lambda c: c.topup.config.delete(account_id=ACCOUNT), type(None), {}),
    "spending_limit.get": (
        lambda c: c.spending_limit.get(account_id=ACCOUNT),
        cf.SpendingLimit,
        {"config": {"amount": 50000, "duration": "monthly", "strategy": "fixed"}, "enabled": True},
    ),
    "spending_limit.create": (
        lambda c: c.spending_limit.create(
            account_id=ACCOUNT, amount=50000, duration="monthly", strategy="fixed"
        ),
        type(None),
        {},
    ),
    "spending_limit.delete": (lambda c: c.spending_limit.delete(account_id=ACCOUNT), type(None), {}),
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _assert_typed_or_cloudflare_error(client, name):
    call, expected, _ = OPERATIONS[name]
    try:
        result = call(client)
    except CloudflareError as error:
        assert TOKEN not in str(error) and TOKEN not in repr(error)
        assert isinstance(error.retryable, bool) and error.message
        return error
    assert isinstance(result, expected)
    return result


@st.composite
def mutated_results(draw):
    """A valid result for a random operation with some fields removed, nulled or replaced by any JSON."""
    name = draw(st.sampled_from(sorted(OPERATIONS)))
    result = copy.deepcopy(OPERATIONS[name][2])
    containers = [result]
    while containers:
        node = containers.pop()
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        for key in keys:
            action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "null", "replace"]))
            if action == "drop" and isinstance(node, dict):
                del node[key]
            elif action == "null":
                node[key] = None
            elif action == "replace":
                node[key] = draw(json_values)
            elif isinstance(node[key], dict | list):
                containers.append(node[key])
    return name, result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mutated_results(), success=st.sampled_from([True, True, False, None, "true"]))
def test_any_result_shape_yields_a_typed_result_or_a_cloudflare_error(server, client, case, success):
    name, result = case
    envelope = {"success": success, "errors": [], "messages": [], "result": result}
    _answer(server, body=_dump(envelope).encode())
    outcome = _assert_typed_or_cloudflare_error(client, name)
    if success is not True:
        assert isinstance(outcome, CloudflareError)


JSON = "application/json"
INFINITY = b'{"success": true, "result": {"balance": Infinity}}'
DEEP = b"[" * 5000 + b"]" * 5000
LONG_INT = b'{"success":true,"result":{"min_cents":' + b"9" * 5000 + b"}}"
HUGE_EXPONENT = b'{"success":true,"result":{"balance":1e999999999999999999}}'
TRUNCATED = b'{"success":true,"result":{"onboarding":'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(OPERATIONS)),
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 520, 599]),
    body=st.one_of(json_values.map(_dump), st.text(max_size=200)).map(str.encode) | st.binary(max_size=200),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/html", None]),
    retry_after=st.sampled_from([None, "1e9", "nan", "-3", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"]),
)
@example(name="credit_balance", status=200, body=b"NaN", content_type=JSON, retry_after=None)
@example(name="credit_balance", status=200, body=INFINITY, content_type=JSON, retry_after=None)
@example(name="usage_history", status=200, body=DEEP, content_type=JSON, retry_after=None)
@example(name="topup.limits", status=200, body=LONG_INT, content_type=JSON, retry_after=None)
@example(name="credit_balance", status=200, body=HUGE_EXPONENT, content_type=JSON, retry_after=None)
@example(name="topup.create", status=200, body=TRUNCATED, content_type=None, retry_after=None)
@example(name="topup.create", status=201, body=TRUNCATED, content_type=JSON, retry_after=None)
@example(name="spending_limit.get", status=429, body=b"", content_type=None, retry_after="nan")
def test_any_answer_yields_a_typed_result_or_a_cloudflare_error(
    server, client, name, status, body, content_type, retry_after
):
    _answer(server, status, body, content_type, {"Retry-After": retry_after} if retry_after else None)
    outcome = _assert_typed_or_cloudflare_error(client, name)
    if not 200 <= status < 300:
        assert isinstance(outcome, CloudflareError)
    if name == "topup.create" and 200 <= status < 300 and isinstance(outcome, CloudflareError):
        # A 2xx means the charge probably happened: its lost details must not read as a plain failure.
        assert isinstance(outcome, OutcomeUnknownError)


money = st.decimals(
    min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False, allow_infinity=False
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(balance=money, value=money)
def test_numbers_arrive_exactly_as_written_on_the_wire(server, client, balance, value):
    body = {
        "success": True,
        "result": {
            "balance": balance,
            "has_default_payment_method": False,
            "payment_method": None,
            "topup_config": {"amount": value},
        },
    }
    _answer(server, body=_dump(body).encode())
    result = client.credit_balance(account_id=ACCOUNT)
    assert result.balance == balance and str(result.balance) == str(balance)
    assert result.topup_config.amount == value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from([400, 401, 403, 404, 422, 500, 200]),
    where=st.sampled_from(["error", "field", "html"]),
)
def test_token_echoed_by_the_server_never_reaches_error_text(server, client, status, where):
    if where == "html":
        body, content_type = f"<html>Bearer {TOKEN}</html>".encode(), "text/html"
    else:
        envelope = {
            "success": False,
            "errors": [{"code": 10000, "message": f"bad token {TOKEN}"}],
            "result": None,
        }
        if where == "field":
            envelope = {"success": True, "result": {"balance": TOKEN}}
        body, content_type = _dump(envelope).encode(), "application/json"
    _answer(server, status, body, content_type)
    with pytest.raises(CloudflareError) as info:
        OPERATIONS["credit_balance"][0](client)
    error = info.value
    texts = [str(error), repr(error), *(message for _, message in getattr(error, "errors", ()))]
    assert all(TOKEN not in text for text in texts)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_valid_result_parses_to_its_type(server, client, name):
    call, expected, result = OPERATIONS[name]
    _answer(server, body=_dump({"success": True, "errors": [], "messages": [], "result": result}).encode())
    assert isinstance(call(client), expected)
