"""The API client over real HTTP against the Cloudflare sandbox: operations, errors, retries, budget."""

import json
import logging
import socket
from decimal import Decimal

import pytest

from billing.cloudflare import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BillingClient,
    CloudflareError,
    CreditBalance,
    InvalidResponseError,
    Invoice,
    InvoiceHistory,
    InvoicePreview,
    NotFoundError,
    OutcomeUnknownError,
    Pagination,
    RateLimitError,
    ServerError,
    SpendingLimit,
    TopupConfig,
    TopupConfigSet,
    TopupCreateResult,
    TopupLimits,
    TopupStatus,
    UsageHistory,
)
from billing.cloudflare.budget import InProcessRateLimiter, RateLimitBudgetExceeded
from cloudflare_sandbox import DEFAULT_TOKEN, SandboxServer
from cloudflare_sandbox.testing import SandboxControl
from tests.support.sandbox_fixtures import ACCOUNT, VISA, api_requests

OTHER = "fedcba9876543210fedcba9876543210"


@pytest.fixture(autouse=True)
def fresh(sandbox):
    # The `sandbox` fixture has reset the shared sandbox (faults, request log and settings cleared).
    sandbox.put_account(
        ACCOUNT, balance=2500, payment_method=VISA, first_topup_success=True, usage_per_hour=0
    )


@pytest.fixture(scope="module")
def strict_sandbox():
    """Refuses what Cloudflare refuses API tokens (dashboard-only operations, as by default); allows 3
    requests per 300 s."""
    with SandboxServer(seed="empty", speed=0.0, rate_limit=(3, 300)) as srv:
        yield SandboxControl(srv.root_url)


@pytest.fixture
def strict_client(strict_sandbox):
    strict_sandbox.reset("empty")
    strict_sandbox.put_account(ACCOUNT, balance=100, first_topup_success=True)
    with BillingClient(DEFAULT_TOKEN, base_url=strict_sandbox.base_url, backoff_base=0.01) as c:
        yield c


@pytest.fixture
def client(sandbox):
    with BillingClient(DEFAULT_TOKEN, base_url=sandbox.base_url, timeout=(2, 5), backoff_base=0.01) as c:
        yield c


def assert_token_absent(error):
    for text in (str(error), repr(error), error.message):
        assert DEFAULT_TOKEN not in text


# ------------------------------------------------------------------------------------------ operations


def test_credit_balance_returns_the_wire_values_typed(client):
    result = client.credit_balance(account_id=ACCOUNT)
    assert isinstance(result, CreditBalance)
    assert result.balance == Decimal(2500) and isinstance(result.balance, Decimal)
    assert result.has_default_payment_method is True
    assert (result.payment_method.brand, result.payment_method.last4) == ("visa", "4242")
    assert result.topup_config == TopupConfig()
    assert result.first_topup_success is True


def test_fractional_balance_arrives_as_exact_decimal(sandbox, client):
    sandbox.put_account(ACCOUNT, balance=0.3)
    result = client.credit_balance(account_id=ACCOUNT)
    # 0.1 + 0.2 is not 0.3 in float; the client must give the exact 0.3 that was on the wire.
    assert result.balance == Decimal("0.1") + Decimal("0.2")
    assert str(result.balance) == "0.3"


def test_usage_history_sums_exactly_and_sends_window_in_milliseconds(sandbox, client):
    sandbox.put_account(ACCOUNT, usage_per_hour=0.1, usage_rhythm=False)
    sandbox.advance(3 * 3600)
    hourly = client.usage_history(account_id=ACCOUNT, value_grouping_window="hour")
    daily = client.usage_history(account_id=ACCOUNT, value_grouping_window="day")
    assert isinstance(hourly, UsageHistory) and hourly.history
    assert all(isinstance(h.aggregated_value, Decimal) for h in hourly.history)
    assert sum(h.aggregated_value for h in hourly.history) == sum(d.aggregated_value for d in daily.history)
    # Three hours of 0.1 (the first and last partial) add up to exactly 0.3, which floats cannot do.
    assert sum(h.aggregated_value for h in hourly.history) == Decimal("0.3")

    start = int(hourly.history[0].start_time)
    end = int(hourly.history[-1].end_time)
    sandbox.clear_requests()
    window = client.usage_history(
        account_id=ACCOUNT, value_grouping_window="hour", start_time=start, end_time=end
    )
    # The sandbox clock runs on, so the last partial hour may have grown: compare the buckets, not values.
    assert [h.id for h in window.history] == [h.id for h in hourly.history]
    [logged] = api_requests(sandbox, contains="usage-history")
    assert logged["query"] == {
        "value_grouping_window": "hour",
        "start_time": str(start),
        "end_time": str(end),
    }


def test_topup_create_status_and_invoice_history(sandbox, client):
    created = client.topup.create(account_id=ACCOUNT, amount=5000)
    assert isinstance(created, TopupCreateResult)
    assert created.payment_intent_id and isinstance(created.onboarding, bool)
    status = client.topup.status(account_id=ACCOUNT, payment_intent_id=created.payment_intent_id)
    assert status == TopupStatus(payment_intent_id=created.payment_intent_id, status="pending")

    sandbox.advance(10)
    status = client.topup.status(account_id=ACCOUNT, payment_intent_id=created.payment_intent_id)
    assert status.status == "completed"

    history = client.invoice_history(account_id=ACCOUNT)
    assert isinstance(history, InvoiceHistory) and isinstance(history.pagination, Pagination)
    assert history.pagination.total_count == len(history.invoices) >= 1
    invoice = history.invoices[0]
    assert isinstance(invoice, Invoice) and isinstance(invoice.amount_due, Decimal)
    assert client.invoice_history(account_id=ACCOUNT, type="manual").invoices
    assert client.invoice_history(account_id=ACCOUNT, type="auto").invoices == ()


def test_invoice_history_sends_page_and_per_page_as_extra_query_parameters(sandbox, client):
    for amount in (1000, 2000, 3000):
        client.topup.create(account_id=ACCOUNT, amount=amount)
    sandbox.clear_requests()
    second = client.invoice_history(
        account_id=ACCOUNT, type="manual", extra_query={"page": 2, "per_page": "2"}
    )
    assert [r["query"] for r in api_requests(sandbox, "GET", "/invoice-history")] == [
        {"type": "manual", "page": "2", "per_page": "2"}
    ]
    assert [i.amount_due for i in second.invoices] == [Decimal(1050)]  # the oldest, newest first
    assert second.pagination == Pagination(has_more=False, page=2, per_page=2, total_count=3)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"type": "auto"}, ValueError),
        ({"": "1"}, ValueError),
        ({"page": 1.5}, TypeError),
        ({"page": True}, TypeError),
    ],
)
def test_invoice_history_refuses_a_bad_extra_query_before_sending(sandbox, client, extra, error):
    with pytest.raises(error):
        client.invoice_history(account_id=ACCOUNT, type="manual", extra_query=extra)
    assert api_requests(sandbox) == []


def test_topup_create_sends_integer_cents_and_the_payment_method(sandbox, client):
    client.topup.create(account_id=ACCOUNT, amount=1500, payment_method_id="pm_card_visa")
    [logged] = api_requests(sandbox, contains="/topup")
    body = logged["body"]
    assert (body if isinstance(body, dict) else json.loads(body)) == {
        "amount": 1500,
        "payment_method_id": "pm_card_visa",
    }


def test_topup_create_refuses_non_integer_amounts_before_sending(sandbox, client):
    for amount in (Decimal("50.00"), 50.0, True):
        with pytest.raises(TypeError):
            client.topup.create(account_id=ACCOUNT, amount=amount)
    assert api_requests(sandbox) == []


def test_invoice_preview_is_typed(client):
    preview = client.invoice_preview(account_id=ACCOUNT)
    assert isinstance(preview, InvoicePreview)
    assert preview.status == "draft" and preview.invoice_lines
    line = preview.invoice_lines[0]
    assert isinstance(line.amount, Decimal) and isinstance(line.period.start, Decimal)
    assert line.pricing.unit_amount_decimal == "0.0001"


def test_topup_limits(client):
    assert client.topup.limits(account_id=ACCOUNT) == TopupLimits(
        min_cents=1000, max_cents=100000, currency="USD"
    )


def test_auto_topup_config_round_trip(sandbox, client):
    sandbox.configure(accept_dashboard_writes=True)  # Cloudflare takes these from its dashboard only
    assert client.topup.config.create(account_id=ACCOUNT, amount=5000, threshold=1000) == TopupConfigSet(
        amount=Decimal(5000), threshold=Decimal(1000)
    )
    config = client.topup.config.get(account_id=ACCOUNT)
    assert (config.amount, config.threshold, config.disabled_reason) == (Decimal(5000), Decimal(1000), None)
    assert client.credit_balance(account_id=ACCOUNT).topup_config == config
    assert client.topup.config.delete(account_id=ACCOUNT) is None
    assert client.topup.config.get(account_id=ACCOUNT).amount is None


def test_spending_limit_round_trip(sandbox, client):
    sandbox.configure(accept_dashboard_writes=True)  # Cloudflare no longer takes new ones at all
    initial = client.spending_limit.get(account_id=ACCOUNT)
    assert isinstance(initial, SpendingLimit)
    assert initial.enabled is False and initial.config.amount is None
    assert (
        client.spending_limit.create(account_id=ACCOUNT, amount=50000, duration="monthly", strategy="fixed")
        is None
    )
    limit = client.spending_limit.get(account_id=ACCOUNT)
    assert limit.enabled is True
    assert (limit.config.amount, limit.config.duration, limit.config.strategy) == (
        Decimal(50000),
        "monthly",
        "fixed",
    )
    assert client.spending_limit.delete(account_id=ACCOUNT) is None
    assert client.spending_limit.get(account_id=ACCOUNT).enabled is False


def test_session_is_reused_across_calls(client):
    for _ in range(5):
        client.credit_balance(account_id=ACCOUNT)
    pools = client.session.get_adapter(client.base_url).poolmanager.pools
    [key] = pools.keys()
    assert pools[key].num_connections == 1


# ------------------------------------------------------------------------------------------ errors


def test_wrong_token_on_a_read_names_the_read_permission(sandbox):
    bad = BillingClient("not-the-right-token-0000", base_url=sandbox.base_url, backoff_base=0.01)
    with pytest.raises(AuthenticationError) as info:
        bad.credit_balance(account_id=ACCOUNT)
    assert info.value.status_code in (401, 403)
    assert "AI Gateway Read" in info.value.message and info.value.retryable is False
    assert "not-the-right-token-0000" not in str(info.value) + repr(info.value)
    assert len(api_requests(sandbox)) == 1


def test_wrong_token_on_a_write_names_the_write_permission(sandbox):
    bad = BillingClient("not-the-right-token-0000", base_url=sandbox.base_url)
    with pytest.raises(AuthenticationError) as info:
        bad.spending_limit.delete(account_id=ACCOUNT)
    assert "AI Gateway Write" in info.value.message
    assert info.value.dashboard_only is False


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.topup.config.create(account_id=ACCOUNT, amount=5000, threshold=1000),
        lambda c: c.topup.config.delete(account_id=ACCOUNT),
        lambda c: c.spending_limit.create(
            account_id=ACCOUNT, amount=5000, duration="daily", strategy="fixed"
        ),
    ],
    ids=["topup.config.create", "topup.config.delete", "spending_limit.create"],
)
def test_dashboard_only_operations_say_so_when_refused(strict_sandbox, strict_client, call):
    with pytest.raises(AuthenticationError) as info:
        call(strict_client)
    assert info.value.status_code == 403 and info.value.dashboard_only is True
    assert "dashboard" in info.value.message and "dash.cloudflare.com" in info.value.message
    assert_token_absent(info.value)
    assert len(api_requests(strict_sandbox)) == 1


def test_forbidden_topup_is_not_called_dashboard_only(sandbox, client):
    sandbox.add_fault(method="POST", path_contains="/topup", status=403, body="envelope")
    with pytest.raises(AuthenticationError) as info:
        client.topup.create(account_id=ACCOUNT, amount=5000)
    assert info.value.dashboard_only is False and "AI Gateway Write" in info.value.message
    assert info.value.errors[0][0] == 10000


def test_unknown_account_raises_not_found_with_code_7003(client):
    with pytest.raises(NotFoundError) as info:
        client.credit_balance(account_id=OTHER)
    assert info.value.status_code == 404 and info.value.errors[0][0] == 7003
    assert info.value.retryable is False


def test_bad_amount_raises_bad_request_with_the_field_message(sandbox, client):
    with pytest.raises(BadRequestError) as info:
        client.topup.create(account_id=ACCOUNT, amount=5)
    assert "amount" in info.value.message and any("amount" in m for _, m in info.value.errors)
    assert len(api_requests(sandbox)) == 1


def test_cloudflare_html_error_page_is_reported_without_the_html(sandbox, client):
    sandbox.add_fault(method="GET", status=502, body="html", count=10)
    with pytest.raises(ServerError) as info:
        client.credit_balance(account_id=ACCOUNT)
    error = info.value
    assert error.status_code == 502 and error.retryable is True
    assert "Cloudflare is unavailable" in error.message and "502" in error.message
    assert "<" not in error.message and "DOCTYPE" not in repr(error)
    assert len(api_requests(sandbox)) == 3  # first try and max_retries=2


def test_server_error_envelope_raises_server_error(sandbox, client):
    sandbox.add_fault(method="GET", status=500, body="envelope", count=10, message="boom")
    with pytest.raises(ServerError) as info:
        client.topup.config.get(account_id=ACCOUNT)
    assert info.value.status_code == 500 and "boom" in info.value.message


@pytest.mark.parametrize("kind", ["truncated", "empty"])
def test_unreadable_200_raises_invalid_response(sandbox, client, kind):
    sandbox.add_fault(method="GET", body=kind, status=200)
    with pytest.raises(InvalidResponseError) as info:
        client.credit_balance(account_id=ACCOUNT)
    assert info.value.status_code == 200
    assert len(api_requests(sandbox)) == 1


def test_connection_reset_raises_connection_error(sandbox):
    sandbox.add_fault(method="GET", body="reset", count=10)
    client = BillingClient(DEFAULT_TOKEN, base_url=sandbox.base_url, max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.credit_balance(account_id=ACCOUNT)
    assert info.value.retryable is True and info.value.sent is True


def test_slow_answer_raises_timeout(sandbox):
    sandbox.add_fault(method="GET", latency_ms=1500, count=10)
    client = BillingClient(DEFAULT_TOKEN, base_url=sandbox.base_url, timeout=(2, 0.3), max_retries=0)
    with pytest.raises(APITimeoutError) as info:
        client.credit_balance(account_id=ACCOUNT)
    assert info.value.retryable is True
    assert isinstance(info.value, APIConnectionError)


def test_no_error_text_contains_the_token(sandbox, client):
    errors = []
    for spec in (
        {"status": 401, "body": "envelope", "message": f"token {DEFAULT_TOKEN} rejected"},
        {"status": 500, "body": "envelope", "message": f"Bearer {DEFAULT_TOKEN}"},
        {"status": 502, "body": "html"},
        {"status": 200, "body": "truncated"},
        {"status": 429, "body": "envelope", "retry_after": 600},
    ):
        sandbox.clear_faults()
        sandbox.add_fault(method="GET", count=10, **spec)
        with pytest.raises(CloudflareError) as info:
            client.credit_balance(account_id=ACCOUNT)
        errors.append(info.value)
    for error in errors:
        assert_token_absent(error)
        assert all(DEFAULT_TOKEN not in message for _, message in getattr(error, "errors", ()))
    assert DEFAULT_TOKEN not in repr(client)
    assert sandbox.base_url in repr(client)


# ------------------------------------------------------------------------------------------ retries


def test_get_429_then_200_makes_two_requests(sandbox, client):
    sandbox.add_fault(method="GET", status=429, retry_after=0, body="envelope", count=1)
    assert client.credit_balance(account_id=ACCOUNT).balance == Decimal(2500)
    assert [r["status"] for r in api_requests(sandbox)] == [429, 200]


def test_get_gives_up_after_max_retries(sandbox, client):
    sandbox.add_fault(method="GET", status=503, body="envelope", count=10)
    with pytest.raises(ServerError):
        client.invoice_preview(account_id=ACCOUNT)
    assert len(api_requests(sandbox)) == 3


def test_long_retry_after_raises_rate_limit_error_at_once(sandbox, client):
    sandbox.add_fault(method="GET", status=429, retry_after=300, body="envelope", count=10)
    with pytest.raises(RateLimitError) as info:
        client.credit_balance(account_id=ACCOUNT)
    assert info.value.retry_after == 300 and info.value.retryable is True
    assert len(api_requests(sandbox)) == 1


def test_sandbox_rate_limit_is_reported_with_its_retry_after(strict_sandbox, strict_client):
    for _ in range(3):
        strict_client.credit_balance(account_id=ACCOUNT)
    with pytest.raises(RateLimitError) as info:
        strict_client.credit_balance(account_id=ACCOUNT)
    assert info.value.retry_after is not None and info.value.retry_after > 60
    assert len(api_requests(strict_sandbox)) == 4


def test_bad_request_is_not_retried(sandbox, client):
    sandbox.configure(accept_dashboard_writes=True)  # so the body is validated
    with pytest.raises(BadRequestError):
        client.spending_limit.create(account_id=ACCOUNT, amount=1, duration="daily", strategy="fixed")
    assert len(api_requests(sandbox)) == 1


def test_the_topup_status_question_is_retried_like_a_read(sandbox, client):
    payment_intent = client.topup.create(account_id=ACCOUNT, amount=1000).payment_intent_id
    sandbox.clear_requests()
    sandbox.add_fault(method="POST", path_contains="/topup/status", status=502, body="html", count=1)
    client.topup.status(account_id=ACCOUNT, payment_intent_id=payment_intent)
    assert [r["status"] for r in api_requests(sandbox, contains="/topup/status")] == [502, 200]


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/topup/config", lambda c: c.topup.config.create(
            account_id=ACCOUNT, amount=5000, threshold=900)),
        ("DELETE", "/topup/config", lambda c: c.topup.config.delete(account_id=ACCOUNT)),
        ("POST", "/spending-limit", lambda c: c.spending_limit.create(
            account_id=ACCOUNT, amount=500, duration="weekly", strategy="sliding")),
        ("DELETE", "/spending-limit", lambda c: c.spending_limit.delete(account_id=ACCOUNT)),
    ],
)  # fmt: skip
def test_config_writes_whose_answer_is_lost_are_sent_once_and_unknown(sandbox, client, method, path, call):
    # Cloudflare may have applied them: repeating would act twice on what a person asked once.
    sandbox.configure(accept_dashboard_writes=True)
    sandbox.add_fault(method=method, path_contains=path, status=502, body="html", count=1)
    with pytest.raises(OutcomeUnknownError):
        call(client)
    assert [r["status"] for r in api_requests(sandbox, contains=path)] == [502]


def test_topup_500_makes_exactly_one_request_and_raises_outcome_unknown(sandbox, client):
    sandbox.add_fault(method="POST", path_contains="/topup", status=500, body="envelope", count=10)
    with pytest.raises(OutcomeUnknownError) as info:
        client.topup.create(account_id=ACCOUNT, amount=5000)
    error = info.value
    assert (error.operation, error.account_id, error.amount) == ("topup.create", ACCOUNT, 5000)
    assert error.retryable is False and isinstance(error.cause, ServerError) and error.status_code == 500
    assert "5000 cents" in error.message
    assert_token_absent(error)
    assert len(api_requests(sandbox, contains="/topup")) == 1


def test_topup_applied_then_answer_lost_is_not_repeated(sandbox, client):
    sandbox.add_fault(method="POST", path_contains="/topup", body="reset", apply=True, count=10)
    with pytest.raises(OutcomeUnknownError) as info:
        client.topup.create(account_id=ACCOUNT, amount=5000)
    assert isinstance(info.value.cause, APIConnectionError)
    assert len(api_requests(sandbox, contains="/topup")) == 1
    sandbox.clear_faults()
    sandbox.advance(10)
    # It did happen: exactly one top-up of 50 dollars was charged, never two.
    invoices = client.invoice_history(account_id=ACCOUNT, type="manual").invoices
    assert len(invoices) == 1


def test_topup_truncated_200_raises_outcome_unknown(sandbox, client):
    sandbox.add_fault(method="POST", path_contains="/topup", status=200, body="truncated", apply=True)
    with pytest.raises(OutcomeUnknownError) as info:
        client.topup.create(account_id=ACCOUNT, amount=5000)
    assert isinstance(info.value.cause, InvalidResponseError)
    assert len(api_requests(sandbox, contains="/topup")) == 1


def test_topup_read_timeout_raises_outcome_unknown(sandbox):
    sandbox.add_fault(method="POST", path_contains="/topup", latency_ms=1500)
    with (
        BillingClient(
            DEFAULT_TOKEN, base_url=sandbox.base_url, timeout=(2, 0.3), backoff_base=0.01
        ) as client,
        pytest.raises(OutcomeUnknownError) as info,
    ):
        client.topup.create(account_id=ACCOUNT, amount=5000)
    assert isinstance(info.value.cause, APITimeoutError)
    assert len(api_requests(sandbox, contains="/topup")) <= 1


def test_topup_429_is_retried_and_charges_once(sandbox, client):
    sandbox.add_fault(
        method="POST", path_contains="/topup", status=429, retry_after=0, body="envelope", count=1
    )
    result = client.topup.create(account_id=ACCOUNT, amount=5000)
    assert result.payment_intent_id
    assert [r["status"] for r in api_requests(sandbox, contains="/topup")] == [429, 200]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/client/v4"


def test_topup_refused_connection_is_retried_because_nothing_was_sent():
    attempts = []
    client = BillingClient(
        DEFAULT_TOKEN, base_url=_closed_port_url(), backoff_base=0.01, on_call=lambda *a: attempts.append(a)
    )
    with pytest.raises(APIConnectionError) as info:
        client.topup.create(account_id=ACCOUNT, amount=5000)
    assert not isinstance(info.value, OutcomeUnknownError) and info.value.sent is False
    assert [a[3] for a in attempts] == [1, 2, 3]


# ------------------------------------------------------------------------------ budget, callbacks, logs


def test_rate_limiter_is_asked_before_every_attempt_including_retries(sandbox):
    limiter = InProcessRateLimiter(limit=2, period=60)
    sandbox.add_fault(method="GET", status=500, body="envelope", count=10)
    with (
        BillingClient(
            DEFAULT_TOKEN,
            base_url=sandbox.base_url,
            rate_limiter=limiter,
            backoff_base=0.01,
            rate_limit_block=False,
        ) as client,
        pytest.raises(RateLimitBudgetExceeded),
    ):
        client.credit_balance(account_id=ACCOUNT)
    assert len(api_requests(sandbox)) == 2


def test_on_call_reports_every_attempt(sandbox, client):
    calls = []
    client.on_call = lambda *args: calls.append(args)
    sandbox.add_fault(method="GET", status=503, body="envelope", count=1)
    client.topup.limits(account_id=ACCOUNT)
    assert [(c[0], c[1], c[2], c[3]) for c in calls] == [
        ("topup.limits", ACCOUNT, 503, 1),
        ("topup.limits", ACCOUNT, 200, 2),
    ]
    assert isinstance(calls[0][5], ServerError) and calls[1][5] is None
    assert all(isinstance(c[4], float) and c[4] >= 0 for c in calls)


def test_failing_on_call_does_not_fail_the_call(client):
    def broken(*args):
        raise RuntimeError("metrics down")

    client.on_call = broken
    assert client.topup.limits(account_id=ACCOUNT).min_cents == 1000


def test_each_attempt_is_logged_at_debug_without_the_token(sandbox, client, caplog):
    sandbox.add_fault(method="GET", status=429, retry_after=0, body="envelope", count=1)
    with caplog.at_level(logging.DEBUG, logger="billing.cloudflare"):
        client.credit_balance(account_id=ACCOUNT)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "billing.cloudflare" and "status=" in r.getMessage()
    ]
    assert len(lines) == 2
    assert (
        "credit_balance" in lines[0]
        and ACCOUNT in lines[0]
        and "status=429" in lines[0]
        and "attempt=1" in lines[0]
    )
    assert "status=200" in lines[1] and "attempt=2" in lines[1] and "ms=" in lines[1] and "ray=" in lines[1]
    assert DEFAULT_TOKEN not in caplog.text


def test_status_error_base_class_covers_unlisted_statuses(sandbox, client):
    sandbox.add_fault(method="GET", status=418, body="envelope")
    with pytest.raises(APIStatusError) as info:
        client.credit_balance(account_id=ACCOUNT)
    assert type(info.value) is APIStatusError and info.value.status_code == 418
