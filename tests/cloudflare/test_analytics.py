"""Spend analytics (`client.analytics.gateway_spend`, GraphQL) over real HTTP against a local server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing.cloudflare import (
    GATEWAY_SPEND_QUERY,
    AuthenticationError,
    BillingClient,
    CloudflareError,
    GraphQLError,
    GraphQLPermissionError,
    InvalidResponseError,
    ServerError,
    SpendGroup,
)
from tests.support.local_cloudflare import TOKEN, reply
from tests.support.sandbox_fixtures import ACCOUNT

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, 23, tzinfo=UTC)
PERMISSION_MESSAGE = (
    'The API token lacks the "Account Analytics: Read" permission needed for spend by gateway, model and '
    "provider."
)


@pytest.fixture
def client(local, calls):
    with BillingClient(
        TOKEN, base_url=local.base_url, timeout=(2, 5), backoff_base=0.01, on_call=lambda *a: calls.append(a)
    ) as c:
        yield c


@pytest.fixture
def once(local):
    """A client that never retries, to see the first answer's error."""
    with BillingClient(TOKEN, base_url=local.base_url, max_retries=0) as c:
        yield c


def group(hour: str, gateway: str, model: str, cost: str, count: int = 3) -> dict:
    return {
        "count": count,
        "sum": {
            "cost": Decimal(cost),
            "uncachedTokensIn": 1200,
            "uncachedTokensOut": 340,
            "cachedTokensIn": 50,
            "cachedTokensOut": 0,
            "cachedRequests": 1,
            "erroredRequests": 0,
        },
        "dimensions": {"gateway": gateway, "model": model, "provider": "openai", "datetimeHour": hour},
    }


def data(*groups: dict) -> dict:
    return {"data": {"viewer": {"accounts": [{"groups": list(groups)}]}}, "errors": None}


def spend(client, **kwargs):
    return client.analytics.gateway_spend(account_id=ACCOUNT, start=START, end=END, **kwargs)


def test_spend_groups_are_typed_with_exact_decimal_costs(local, client, calls):
    local.answer(
        reply(
            body=data(
                group("2026-12-01T00:00:00Z", "prod", "gpt-4o", "0.000123456789"),
                group("2026-12-01T01:00:00Z", "staging", "claude-sonnet-4", "12.5", count=7),
            )
        )
    )
    rows = spend(client)
    assert all(isinstance(row, SpendGroup) for row in rows)
    first, second = rows
    assert first.hour == datetime(2026, 12, 1, tzinfo=UTC) and first.hour.tzinfo is not None
    assert (first.gateway, first.model, first.provider) == ("prod", "gpt-4o", "openai")
    assert first.cost == Decimal("0.000123456789") and isinstance(first.cost, Decimal)
    assert (first.tokens_in, first.tokens_out, first.cached_tokens_in, first.cached_tokens_out) == (
        1200,
        340,
        50,
        0,
    )
    assert (first.requests, first.cached_requests, first.errored_requests) == (3, 1, 0)
    assert second.requests == 7 and sum(r.cost for r in rows) == Decimal("12.500123456789")
    assert [c[0] for c in calls] == ["analytics.gateway_spend"]


def test_query_is_posted_to_graphql_with_utc_iso_variables(local, client):
    local.answer(reply(body=data()))
    paris = timezone(timedelta(hours=1))
    client.analytics.gateway_spend(
        account_id=ACCOUNT, start=datetime(2026, 12, 1, 1, tzinfo=paris), end=END, limit=500
    )
    request = local.requests[0]
    assert request["method"] == "POST" and request["path"] == "/client/v4/graphql"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["body"]["query"] == GATEWAY_SPEND_QUERY
    assert request["body"]["variables"] == {
        "accountId": ACCOUNT,
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-01T23:00:00Z",
        "limit": 500,
    }
    for word in ("aiGatewayRequestsAdaptiveGroups", "accountTag: $accountId", "datetimeHour_ASC", "cost"):
        assert word in GATEWAY_SPEND_QUERY


def test_no_groups_is_an_empty_tuple(local, client):
    local.answer(reply(body=data()))
    assert spend(client) == ()
    local.answer(reply(body={"data": {"viewer": {"accounts": []}}}))
    assert spend(client) == ()


def test_arguments_are_checked_before_any_request(local, client):
    local.answer(reply(body=data()))
    with pytest.raises(ValueError, match="timezone"):
        client.analytics.gateway_spend(account_id=ACCOUNT, start=datetime(2026, 12, 1), end=END)
    with pytest.raises(ValueError, match="limit"):
        spend(client, limit=10_001)
    with pytest.raises(ValueError, match="before"):
        client.analytics.gateway_spend(account_id=ACCOUNT, start=END, end=START)
    assert local.requests == []


def test_bad_field_at_http_200_raises_graphql_error_naming_it(local, client):
    error = {
        "message": 'unknown field "costt" on type "AiGatewayRequestsAdaptiveGroupsSum"',
        "path": ["viewer", "accounts", 0, "groups"],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }
    local.answer(reply(body={"data": None, "errors": [error]}))
    with pytest.raises(GraphQLError) as info:
        spend(client)
    assert "costt" in info.value.message and info.value.retryable is False
    assert info.value.errors == (("GRAPHQL_VALIDATION_FAILED", error["message"], "viewer.accounts.0.groups"),)
    assert info.value.status_code == 200 and len(local.requests) == 1


@pytest.mark.parametrize(
    "error",
    [
        {"message": "not authorized for that account", "path": ["viewer"], "extensions": {"code": "authz"}},
        {"message": "forbidden", "extensions": {"code": "FORBIDDEN"}},
        {"message": "You are not authorized to access this account"},
    ],
)
def test_missing_analytics_permission_is_named_plainly(local, client, error):
    local.answer(reply(body={"data": None, "errors": [error]}))
    with pytest.raises(AuthenticationError) as info:
        spend(client)
    assert isinstance(info.value, GraphQLPermissionError)
    assert info.value.message.startswith(PERMISSION_MESSAGE)
    assert info.value.permission == "Account Analytics: Read" and info.value.retryable is False
    assert len(local.requests) == 1


def test_rate_limit_code_makes_the_graphql_error_retryable(local, client):
    error = {"message": "rate limiter budget depleted", "extensions": {"code": "rate_limited"}}
    local.answer(reply(body={"data": None, "errors": [error]}))
    with pytest.raises(GraphQLError) as info:
        spend(client)
    assert info.value.retryable is True


def test_429_then_200_is_retried(local, client, calls):
    local.answer(
        reply(429, {"errors": [{"message": "slow down"}]}, headers={"Retry-After": "0"}),
        reply(body=data(group("2026-12-01T00:00:00Z", "prod", "gpt-4o", "1.25"))),
    )
    assert spend(client)[0].cost == Decimal("1.25")
    assert len(local.requests) == 2 and [c[2] for c in calls] == [429, 200]


def test_html_502_raises_server_error_without_the_page(local, once):
    local.answer(reply(502, b"<html><body>Bad gateway</body></html>", content_type="text/html"))
    with pytest.raises(ServerError) as info:
        spend(once)
    assert "html" not in info.value.message.lower() and info.value.retryable is True
    assert len(local.requests) == 1


def test_html_502_is_retried_like_a_read(local, client):
    local.answer(reply(502, b"<html>down</html>", content_type="text/html"), reply(body=data()))
    assert spend(client) == () and len(local.requests) == 2


@pytest.mark.parametrize(
    "answer",
    [
        reply(body=b"<html>ok?</html>", content_type="text/html"),
        reply(body=b'{"data": {"viewer"', content_type="application/json"),
        reply(body={"errors": None}),
        reply(body={"data": {"viewer": {"accounts": [{"groups": [{"count": "three"}]}]}}}),
        reply(body=[1, 2]),
    ],
    ids=["html", "truncated", "no-data", "wrong-type", "not-an-object"],
)
def test_unreadable_answers_raise_invalid_response(local, client, answer):
    local.answer(answer)
    with pytest.raises(InvalidResponseError):
        spend(client)


def test_wrong_type_names_the_field(local, client):
    bad = group("2026-12-01T00:00:00Z", "prod", "gpt-4o", "1")
    bad["sum"]["cost"] = "1.00"
    local.answer(reply(body=data(bad)))
    with pytest.raises(InvalidResponseError) as info:
        spend(client)
    assert info.value.field == "data.viewer.accounts[0].groups[0].sum.cost"


def test_token_never_reaches_graphql_error_text(local, once):
    for answer in (
        reply(body={"data": None, "errors": [{"message": f"bad token {TOKEN}"}]}),
        reply(body={"data": None, "errors": [{"message": f"{TOKEN}", "extensions": {"code": "authz"}}]}),
        reply(403, {"errors": [{"message": f"token {TOKEN} refused"}]}),
        reply(502, f"<html>{TOKEN}</html>".encode(), content_type="text/html"),
    ):
        local.answer(answer)
        with pytest.raises(CloudflareError) as info:
            spend(once)
        error = info.value
        texts = [str(error), repr(error), *(str(e) for e in getattr(error, "errors", ()))]
        texts += [str(e) for e in getattr(error, "graphql_errors", ())]
        assert all(TOKEN not in text for text in texts)
