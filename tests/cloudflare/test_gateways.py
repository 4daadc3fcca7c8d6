"""The gateway calls (`client.ai_gateway`) over real HTTP against a small local server that plays Cloudflare.

The sandbox does not serve gateways yet, so each test scripts the answers of a local ThreadingHTTPServer and
reads back the requests it received.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.cloudflare import (
    SERVER_OWNED_FIELDS,
    BillingClient,
    CloudflareError,
    Gateway,
    InvalidResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    SpendLimitRule,
    SpendLimits,
)
from billing.cloudflare.resources_gateways import MAX_PAGES
from tests.support.local_cloudflare import RESET, TOKEN, reply
from tests.support.sandbox_fixtures import ACCOUNT

GATEWAYS_PATH = f"/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways"


def envelope(result: Any, **extra: Any) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": result, **extra}


def refusal(status: int, code: int | None = None, message: str = "", **kwargs: Any) -> tuple:
    errors = [{"code": code, "message": message}] if code is not None else []
    return reply(status, {"success": False, "errors": errors, "result": None}, **kwargs)


@pytest.fixture
def client(local, calls):
    with BillingClient(
        TOKEN,
        base_url=local.base_url,
        timeout=(2, 5),
        backoff_base=0.01,
        on_call=lambda *args: calls.append(args),
    ) as c:
        yield c


def gateway_wire(name: str = "prod", **overrides: Any) -> dict:
    """A gateway as Cloudflare sends it, with fields this client does not model."""
    wire = {
        "id": name,
        "account_id": ACCOUNT,
        "cache_invalidate_on_update": True,
        "cache_ttl": 300,
        "collect_logs": True,
        "created_at": "2026-05-01T10:00:00.123456Z",
        "modified_at": "2026-06-07T08:30:00Z",
        "rate_limiting_interval": 60,
        "rate_limiting_limit": 1000,
        "rate_limiting_technique": "sliding",
        "authentication": False,
        "is_default": False,
        "log_management": 10000000,
        "log_management_strategy": "DELETE_OLDEST",
        "logpush": False,
        "retry_delay": 250,
        "otel": [{"url": "https://otel.example", "headers": {"x-team": "ml"}}],
        "workers_ai_billing_mode": "unified",
        "spend_limits": {
            "enabled": True,
            "rules": [
                {
                    "id": "rule-1",
                    "limit": Decimal("150.25"),
                    "limitType": "cost",
                    "window": 86400,
                    "technique": "fixed",
                    "enabled": True,
                    "model": {"mode": "filter", "values": ["gpt-4o", "claude-sonnet-4"]},
                    "provider": {"mode": "filter", "values": ["openai"]},
                    "metadata": {"user_id": {"mode": "partition"}},
                }
            ],
        },
        "some_future_field": {"kept": [1, 2]},
    }
    wire.update(overrides)
    return wire


def page(names: list[str], number: int, per_page: int, total: int) -> tuple:
    info = {"page": number, "per_page": per_page, "count": len(names), "total_count": total}
    return reply(body=envelope([gateway_wire(n) for n in names], result_info=info))


# ------------------------------------------------------------------------------------------------ reads


def test_get_returns_a_typed_gateway_with_its_spend_limit_rules(local, client):
    local.answer(reply(body=envelope(gateway_wire())))
    gateway = client.ai_gateway.get("prod", account_id=ACCOUNT)
    assert isinstance(gateway, Gateway) and gateway.id == "prod"
    assert gateway.created_at == datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert gateway.modified_at.tzinfo is not None
    assert (gateway.cache_ttl, gateway.rate_limiting_interval, gateway.rate_limiting_limit) == (300, 60, 1000)
    assert gateway.rate_limiting_technique == "sliding" and gateway.is_default is False
    rule = gateway.spend_limits.rules[0]
    assert gateway.spend_limits.enabled is True
    assert rule.limit == Decimal("150.25") and isinstance(rule.limit, Decimal)
    assert (rule.id, rule.limit_type, rule.window, rule.technique) == ("rule-1", "cost", 86400, "fixed")
    assert rule.models == ("gpt-4o", "claude-sonnet-4") and rule.providers == ("openai",)
    assert rule.metadata == {"user_id": {"mode": "partition"}}
    assert gateway.raw["some_future_field"] == {"kept": [1, 2]}
    assert local.requests[0]["path"] == f"{GATEWAYS_PATH}/prod"
    assert local.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_gateway_without_spend_limits_has_no_rules(local, client):
    wire = gateway_wire(cache_ttl=None, rate_limiting_interval=None, rate_limiting_limit=None)
    del wire["spend_limits"]
    local.answer(reply(body=envelope(wire)))
    gateway = client.ai_gateway.get("prod", account_id=ACCOUNT)
    assert gateway.spend_limits == SpendLimits() and gateway.spend_limits.rules == ()
    assert gateway.cache_ttl is None and gateway.rate_limiting_limit is None


def test_absent_fields_of_spend_limits_read_as_cloudflare_defaults_them(local, client):
    rules = gateway_wire()["spend_limits"]["rules"]
    del rules[0]["technique"]
    local.answer(reply(body=envelope(gateway_wire(spend_limits={"rules": rules}))))
    limits = client.ai_gateway.get("prod", account_id=ACCOUNT).spend_limits
    assert limits.rules[0].technique == "sliding"  # Cloudflare's spec: absent is a sliding window
    assert limits.enabled is None and limits.in_force is False  # absent is off: rules not enforced
    assert SpendLimits(enabled=True).in_force and not SpendLimits(enabled=False).in_force


def test_gateway_id_is_percent_encoded_in_the_path(local, client):
    local.answer(reply(body=envelope(gateway_wire("a b/c"))))
    client.ai_gateway.get("a b/c", account_id=ACCOUNT)
    assert local.requests[0]["path"] == f"{GATEWAYS_PATH}/a%20b%2Fc"


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("created_at", "yesterday", "result.created_at"),
        ("cache_ttl", "300", "result.cache_ttl"),
        ("collect_logs", "yes", "result.collect_logs"),
        (
            "spend_limits",
            {"rules": [{"limit": "ten", "limitType": "cost", "window": 60}]},
            "result.spend_limits",
        ),
    ],
)
def test_wrong_types_raise_invalid_response_naming_the_field(local, client, field, value, where):
    local.answer(reply(body=envelope(gateway_wire(**{field: value}))))
    with pytest.raises(InvalidResponseError) as info:
        client.ai_gateway.get("prod", account_id=ACCOUNT)
    assert info.value.field.startswith(where) and where in info.value.message


def test_unknown_gateway_raises_not_found(local, client):
    local.answer(refusal(404, 7002, "not found"))
    with pytest.raises(NotFoundError):
        client.ai_gateway.get("nope", account_id=ACCOUNT)


def test_list_follows_pages_until_the_count_is_reached(local, client, calls):
    local.answer(page(["a", "b"], 1, 2, 3), page(["c"], 2, 2, 3))
    gateways = client.ai_gateway.list(account_id=ACCOUNT, per_page=2, search="prod")
    assert [g.id for g in gateways] == ["a", "b", "c"]
    assert [r["query"] for r in local.requests] == [
        {"page": "1", "per_page": "2", "search": "prod"},
        {"page": "2", "per_page": "2", "search": "prod"},
    ]
    assert [c[0] for c in calls] == ["ai_gateway.list", "ai_gateway.list"]


def test_list_stops_at_a_full_last_page(local, client):
    local.answer(page(["a", "b"], 1, 2, 4), page(["c", "d"], 2, 2, 4), page(["never"], 3, 2, 4))
    assert [g.id for g in client.ai_gateway.list(account_id=ACCOUNT)] == ["a", "b", "c", "d"]
    assert len(local.requests) == 2


def test_list_without_result_info_is_one_page(local, client):
    local.answer(reply(body=envelope([gateway_wire("a")])))
    assert [g.id for g in client.ai_gateway.list(account_id=ACCOUNT)] == ["a"]
    assert len(local.requests) == 1


def test_list_that_never_ends_is_cut_off_at_the_page_cap(local, client):
    local.answer(reply(body=envelope([gateway_wire("same")], result_info={"page": 1, "per_page": 1})))
    with pytest.raises(InvalidResponseError) as info:
        client.ai_gateway.list(account_id=ACCOUNT)
    assert len(local.requests) == MAX_PAGES and str(MAX_PAGES) in info.value.message


def test_list_get_is_retried_after_429(local, client, calls):
    local.answer(
        refusal(429, headers={"Retry-After": "0"}),
        page(["a"], 1, 20, 1),
    )
    assert [g.id for g in client.ai_gateway.list(account_id=ACCOUNT)] == ["a"]
    assert [c[2] for c in calls] == [429, 200]


# ----------------------------------------------------------------------------------------------- writes


def _echo(request: dict) -> tuple:
    """Cloudflare answering an update with the gateway as sent."""
    name = request["path"].rsplit("/", 1)[1]
    gateway = {
        **request["body"],
        "id": name,
        "created_at": "2026-05-01T10:00:00Z",
        "modified_at": "2026-06-08T00:00:00Z",
    }
    return reply(body=envelope(gateway))


def test_update_spend_limits_sends_everything_back_as_read_but_the_limits(local, client, calls):
    read = gateway_wire()
    local.answer(reply(body=envelope(read)), _echo)
    gateway = client.ai_gateway.get("prod", account_id=ACCOUNT)
    old = gateway.spend_limits.rules[0]
    new_rule = SpendLimitRule(
        limit=Decimal("20.10"), window=3600, technique="sliding", providers=("anthropic",)
    )
    limits = SpendLimits(enabled=True, rules=(old, new_rule))

    updated = client.ai_gateway.update_spend_limits(gateway, limits, account_id=ACCOUNT)

    put = local.requests[1]
    assert put["method"] == "PUT" and put["path"] == f"{GATEWAYS_PATH}/prod"
    assert put["headers"]["Content-Type"] == "application/json"
    sent = put["body"]
    expected = {k: v for k, v in read.items() if k not in SERVER_OWNED_FIELDS and k != "spend_limits"}
    assert {k: v for k, v in sent.items() if k != "spend_limits"} == expected
    assert sent["spend_limits"]["rules"][0] == read["spend_limits"]["rules"][0]
    assert sent["spend_limits"]["rules"][1] == {
        "limit": Decimal("20.10"),
        "limitType": "cost",
        "window": 3600,
        "technique": "sliding",
        "provider": {"mode": "filter", "values": ["anthropic"]},
    }
    assert sent["spend_limits"]["enabled"] is True
    assert updated.spend_limits.rules[1].limit == Decimal("20.10")
    assert [c[0] for c in calls] == ["ai_gateway.get", "ai_gateway.update"]


def test_changed_rule_keeps_its_unknown_fields_and_drops_a_removed_scope(local, client):
    rules = gateway_wire()["spend_limits"]["rules"]
    rules[0]["futureKnob"] = "on"
    local.answer(reply(body=envelope(gateway_wire(spend_limits={"enabled": False, "rules": rules}))), _echo)
    gateway = client.ai_gateway.get("prod", account_id=ACCOUNT)
    rule = replace(gateway.spend_limits.rules[0], limit=Decimal("99"), models=None)
    client.ai_gateway.update_spend_limits(
        gateway, SpendLimits(enabled=True, rules=(rule,)), account_id=ACCOUNT
    )
    wire_rule = local.requests[1]["body"]["spend_limits"]["rules"][0]
    assert wire_rule["futureKnob"] == "on" and wire_rule["limit"] == Decimal("99")
    assert "model" not in wire_rule and wire_rule["provider"] == {"mode": "filter", "values": ["openai"]}


def test_update_requires_the_five_fields_and_checks_their_types(client):
    with pytest.raises(TypeError):
        client.ai_gateway.update("prod", account_id=ACCOUNT, cache_invalidate_on_update=True)
    with pytest.raises(TypeError):
        client.ai_gateway.update(
            "prod",
            account_id=ACCOUNT,
            cache_invalidate_on_update="yes",
            cache_ttl=None,
            collect_logs=True,
            rate_limiting_interval=None,
            rate_limiting_limit=None,
        )


def test_update_whose_connection_is_reset_raises_outcome_unknown_after_one_request(local, client, calls):
    local.answer(reply(body=envelope(gateway_wire())), RESET)
    gateway = client.ai_gateway.get("prod", account_id=ACCOUNT)
    with pytest.raises(OutcomeUnknownError) as info:
        client.ai_gateway.update_spend_limits(gateway, SpendLimits(enabled=False), account_id=ACCOUNT)
    assert [r["method"] for r in local.requests] == ["GET", "PUT"]
    assert info.value.operation == "ai_gateway.update" and "balance" not in info.value.message
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert calls[-1][0] == "ai_gateway.update" and calls[-1][2] is None


def test_update_server_error_is_not_repeated(local, client):
    local.answer(reply(502, b"<html>Bad gateway</html>", content_type="text/html"))
    with pytest.raises(OutcomeUnknownError):
        client.ai_gateway.update(
            "prod",
            account_id=ACCOUNT,
            cache_invalidate_on_update=True,
            cache_ttl=None,
            collect_logs=True,
            rate_limiting_interval=None,
            rate_limiting_limit=None,
        )
    assert len(local.requests) == 1


def test_update_refused_with_429_is_retried(local, client):
    local.answer(refusal(429, headers={"Retry-After": "0"}), _echo)
    updated = client.ai_gateway.update(
        "prod",
        account_id=ACCOUNT,
        cache_invalidate_on_update=False,
        cache_ttl=60,
        collect_logs=False,
        rate_limiting_interval=None,
        rate_limiting_limit=None,
    )
    assert updated.cache_ttl == 60 and len(local.requests) == 2


def test_update_refused_with_long_429_raises_rate_limit_not_outcome_unknown(local, client):
    local.answer(refusal(429, headers={"Retry-After": "600"}))
    with pytest.raises(RateLimitError):
        client.ai_gateway.update_spend_limits(
            Gateway.from_wire(gateway_wire(), "result"), SpendLimits(), account_id=ACCOUNT
        )


def test_token_never_reaches_gateway_error_text(local, client):
    for answer in (
        refusal(403, 10000, f"bad {TOKEN}"),
        reply(200, envelope(gateway_wire(id=123, created_at=TOKEN))),
        reply(502, f"<html>{TOKEN}</html>".encode(), content_type="text/html"),
    ):
        local.answer(answer)
        with pytest.raises(CloudflareError) as info:
            client.ai_gateway.get("prod", account_id=ACCOUNT)
        texts = [str(info.value), repr(info.value), *(m for _, m in getattr(info.value, "errors", ()))]
        assert all(TOKEN not in text for text in texts)
    assert TOKEN not in repr(client)


def test_rule_round_trips_through_its_wire_form(local, client):
    rule_wire = gateway_wire()["spend_limits"]["rules"][0]
    rule = SpendLimitRule.from_wire(rule_wire, "rule")
    assert rule.to_wire() == rule_wire


def test_rule_built_by_hand_has_only_its_fields_on_the_wire():
    rule = SpendLimitRule(limit=Decimal("5"), window=60, models=("m",), enabled=False)
    assert rule.to_wire() == {
        "limit": Decimal("5"),
        "limitType": "cost",
        "window": 60,
        "enabled": False,
        "model": {"mode": "filter", "values": ["m"]},
    }
