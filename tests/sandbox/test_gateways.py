"""The sandbox's AI Gateway routes over real HTTP: list (paged, searched), get, validated replacement."""

from __future__ import annotations

import pytest
import requests

from cloudflare_sandbox.jsonutil import loads
from cloudflare_sandbox.testing import ControlClientError
from tests.support.sandbox_fixtures import ACCOUNT, SandboxApi

REQUIRED = {
    "cache_invalidate_on_update": False,
    "cache_ttl": 300,
    "collect_logs": True,
    "rate_limiting_interval": None,
    "rate_limiting_limit": None,
}
RULE = {"limit": 25, "limitType": "cost", "window": 86_400, "technique": "fixed"}


def with_gateways(sandbox, *names):
    sandbox.put_account(ACCOUNT, balance=10_000)
    sandbox.put_gateways(
        ACCOUNT, gateways=[{"id": n} for n in names], mix=[(names[0], "openai", "gpt-4o", 1)]
    )


def errors_of(response):
    doc = loads(response.content)
    assert doc["success"] is False and doc["result"] is None
    return [e["message"] for e in doc["errors"]]


def put(api: SandboxApi, gateway_id, body):
    return api.session.put(api.gateway_url(ACCOUNT, gateway_id), json=body, timeout=10)


def test_a_new_account_has_the_default_gateway(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT)
    r = sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT), timeout=10)
    doc = loads(r.content)
    assert r.status_code == 200 and doc["success"] is True
    assert [g["id"] for g in doc["result"]] == ["default"] and doc["result"][0]["is_default"] is True
    assert doc["result_info"] == {"page": 1, "per_page": 20, "count": 1, "total_count": 1}


def test_list_pages_and_searches_by_id(sandbox, sandbox_api):
    with_gateways(sandbox, "chat-app", "batch", "chat-bot", "default", "docs")
    pages = [
        loads(
            sandbox_api.session.get(
                sandbox_api.gateway_url(ACCOUNT), params={"page": p, "per_page": 2}
            ).content
        )
        for p in (1, 2, 3, 4)
    ]
    assert [[g["id"] for g in p["result"]] for p in pages] == [
        ["chat-app", "batch"],
        ["chat-bot", "default"],
        ["docs"],
        [],
    ]
    assert [p["result_info"]["count"] for p in pages] == [2, 2, 1, 0]
    assert {p["result_info"]["total_count"] for p in pages} == {5}
    found = sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT), params={"search": "chat"}).json()
    assert [g["id"] for g in found["result"]] == ["chat-app", "chat-bot"]
    bad = sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT), params={"per_page": 0})
    assert bad.status_code == 400 and errors_of(bad)[0].startswith("per_page:")


def test_get_answers_the_gateway_or_a_clear_404(sandbox, sandbox_api):
    with_gateways(sandbox, "chat-app")
    got = sandbox_api.result(sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "chat-app")))
    assert got["id"] == "chat-app" and got["collect_logs"] is True
    assert got["created_at"].endswith("Z") and got["modified_at"] == got["created_at"]
    missing = sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "nope"))
    assert missing.status_code == 404
    assert loads(missing.content)["errors"] == [
        {"code": 1005, "message": "gateway: no gateway 'nope' in this account"}
    ]
    unknown_account = sandbox_api.session.get(sandbox_api.gateway_url("f" * 32, "chat-app"))
    assert unknown_account.status_code == 404 and loads(unknown_account.content)["errors"][0]["code"] == 7003


def test_gateway_routes_need_the_token_and_a_known_method(sandbox, sandbox_api):
    with_gateways(sandbox, "chat-app")
    assert requests.get(sandbox_api.gateway_url(ACCOUNT), timeout=5).status_code == 401
    assert sandbox_api.session.delete(sandbox_api.gateway_url(ACCOUNT, "chat-app")).status_code == 405
    assert sandbox_api.session.post(sandbox_api.gateway_url(ACCOUNT), json={}).status_code == 405


def test_put_replaces_the_gateway_and_moves_modified_at(sandbox, sandbox_api):
    with_gateways(sandbox, "chat-app")
    before = sandbox_api.result(sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "chat-app")))
    body = {**REQUIRED, "spend_limits": {"enabled": True, "rules": [RULE, {**RULE, "id": "mine"}]}}
    first = sandbox_api.result(put(sandbox_api, "chat-app", body))
    second = sandbox_api.result(put(sandbox_api, "chat-app", body))  # the clock is frozen: it still moves
    assert before["modified_at"] < first["modified_at"] < second["modified_at"]
    assert first["created_at"] == before["created_at"] and first["cache_ttl"] == 300
    assert "rate_limiting_technique" not in first  # a whole replacement: what was not sent is gone
    rules = first["spend_limits"]["rules"]
    assert rules[0]["id"].startswith("rule_") and rules[1]["id"] == "mine"
    again = sandbox_api.result(sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "chat-app")))
    assert again == second


def test_put_validates_like_cloudflare_naming_each_field(sandbox, sandbox_api):
    with_gateways(sandbox, "chat-app")
    before = sandbox_api.result(sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "chat-app")))
    missing = {k: v for k, v in REQUIRED.items() if k != "cache_ttl"}
    cases = [
        (missing, "cache_ttl: required"),
        ({**REQUIRED, "colour": "blue"}, "colour: unknown field"),
        ({**REQUIRED, "is_default": True}, "is_default: unknown field"),
        ({**REQUIRED, "cache_ttl": "300"}, "cache_ttl: must be an integer or null"),
        ({**REQUIRED, "cache_ttl": 300.0}, "cache_ttl: must be an integer or null"),
        ({**REQUIRED, "collect_logs": 1}, "collect_logs: must be true or false"),
        ({**REQUIRED, "retry_max_attempts": 9}, "retry_max_attempts: must be between 1 and 5"),
        (
            {**REQUIRED, "rate_limiting_technique": "leaky"},
            "rate_limiting_technique: must be one of fixed, sliding, null",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "limit": 0}]}},
            "spend_limits.rules[0].limit: must be",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{"limit": 5, "limitType": "cost"}]}},
            "spend_limits.rules[0].window: required",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "limitType": "tokens"}]}},
            "spend_limits.rules[0].limitType: must be cost",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "window": 1.5}]}},
            "spend_limits.rules[0].window: must be a positive",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "technique": "rolling"}]}},
            "spend_limits.rules[0].technique:",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "model": {"mode": "filter"}}]}},
            "spend_limits.rules[0].model:",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "colour": 1}]}},
            "spend_limits.rules[0].colour: unknown field",
        ),
        (
            {**REQUIRED, "spend_limits": {"rules": [{**RULE, "metadata": {"user": {"mode": "x"}}}]}},
            "spend_limits.rules[0].metadata:",
        ),
        ({**REQUIRED, "spend_limits": {"enabled": "yes"}}, "spend_limits.enabled: must be true or false"),
    ]
    for body, expected in cases:
        r = put(sandbox_api, "chat-app", body)
        assert r.status_code == 400, body
        assert any(m.startswith(expected) for m in errors_of(r)), (expected, errors_of(r))
    assert put(sandbox_api, "chat-app", "not json").status_code == 400
    after = sandbox_api.result(sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "chat-app")))
    assert after == before  # nothing changes on a 400
    ok = {**RULE, "enabled": False, "model": {"mode": "filter", "values": ["gpt-4o"]}}
    ok["metadata"] = {"user_id": {"mode": "partition"}, "team": {"mode": "filter", "values": ["a"]}}
    assert put(sandbox_api, "chat-app", {**REQUIRED, "spend_limits": {"rules": [ok]}}).status_code == 200


def test_control_api_shapes_gateways_and_mix_and_refuses_bad_ones(sandbox):
    sandbox.put_account(ACCOUNT)
    state = sandbox.put_gateways(
        ACCOUNT,
        gateways=[{"id": "chat-app", "cache_ttl": 60}, {"id": "default"}],
        mix=[("chat-app", "openai", "gpt-4o-mini", 3), ("default", "workers-ai", "llama", "1")],
    )
    assert [g["id"] for g in state["gateways"]] == ["chat-app", "default"]
    assert state["gateways"][0]["cache_ttl"] == 60 and state["gateways"][1]["is_default"] is True
    assert [(e["gateway"], e["weight"]) for e in state["mix"]] == [("chat-app", 3), ("default", 1)]
    for body, expected in [
        ({"gateways": [{"id": "only"}]}, "mix: refers to gateway 'chat-app'"),
        ({"gateways": []}, "gateways: must be a non-empty list"),
        ({"mix": [("ghost", "openai", "gpt-4o", 1)]}, "mix: refers to gateway 'ghost'"),
        ({"mix": [("chat-app", "openai", "gpt-4o", 0)]}, "mix[0].weight: must be a positive number"),
        ({"gateways": [{"id": "chat-app", "cache_ttl": "x"}]}, "gateways[0].cache_ttl: must be"),
    ]:
        with pytest.raises(ControlClientError) as refused:
            sandbox.put_gateways(ACCOUNT, **body)
        assert refused.value.status == 400 and refused.value.doc["error"].startswith(expected)
    assert sandbox.gateways(ACCOUNT) == state


def test_more_than_twenty_rules_on_a_gateway_is_refused_like_cloudflare(sandbox, sandbox_api):
    with_gateways(sandbox, "chat-app")
    rules = [{**RULE, "id": f"r{n}"} for n in range(21)]
    refused = put(sandbox_api, "chat-app", {**REQUIRED, "spend_limits": {"enabled": True, "rules": rules}})
    assert refused.status_code == 400
    doc = loads(refused.content)
    assert doc["success"] is False and doc["result"] is None
    assert doc["errors"] == [
        {"code": 1001, "message": "spend_limits.rules: at most 20 rules per gateway, not 21"}
    ]
    gateway = sandbox_api.result(sandbox_api.session.get(sandbox_api.gateway_url(ACCOUNT, "chat-app")))
    assert "spend_limits" not in gateway  # nothing kept
    twenty = {**REQUIRED, "spend_limits": {"enabled": True, "rules": rules[:20]}}
    assert len(sandbox_api.result(put(sandbox_api, "chat-app", twenty))["spend_limits"]["rules"]) == 20
    with pytest.raises(ControlClientError) as control:
        sandbox.put_gateways(ACCOUNT, gateways=[{"id": "chat-app", "spend_limits": {"rules": rules}}])
    assert control.value.status == 400 and "at most 20 rules per gateway" in control.value.doc["error"]
