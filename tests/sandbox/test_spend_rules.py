"""Per-gateway spend-limit rules in the sandbox's simulated time: stop, resume, count, never bill refusals."""

from __future__ import annotations

from decimal import Decimal

from cloudflare_sandbox import DEMO_ACCOUNTS, SandboxServer
from cloudflare_sandbox.testing import SandboxControl
from tests.support.sandbox_fixtures import ACCOUNT, SandboxApi

HOUR = 3600
CONFIG = {
    "cache_invalidate_on_update": False,
    "cache_ttl": None,
    "collect_logs": True,
    "rate_limiting_interval": None,
    "rate_limiting_limit": None,
}
GPT_MINI_PER_REQUEST = Decimal("0.15") * 1200 / 1_000_000 + Decimal("0.60") * 350 / 1_000_000


def start_at_window_boundary(sandbox, window_seconds, offset_seconds=0):
    """Move the frozen clock to `offset_seconds` past a multiple of the window; open a $1/hour account."""
    now_ms = sandbox.clock()["now_ms"]
    window_ms = window_seconds * 1000
    sandbox.advance(Decimal(window_ms - now_ms % window_ms + offset_seconds * 1000) / 1000)
    sandbox.put_account(ACCOUNT, balance=10_000, usage_per_hour=1, usage_rhythm=False)


def set_rules(sandbox_api, *rules, gateway="default"):
    body = {**CONFIG, "spend_limits": {"enabled": True, "rules": list(rules)}}
    r = sandbox_api.session.put(sandbox_api.gateway_url(ACCOUNT, gateway), json=body, timeout=10)
    assert r.status_code == 200, r.text


def billed(sandbox_api):
    history = sandbox_api.result(sandbox_api.get(ACCOUNT, "usage-history", value_grouping_window="hour"))
    return sum((Decimal(str(h["aggregated_value"])) for h in history["history"]), Decimal(0))


def rule_state(sandbox, gateway="default"):
    gateways = {g["id"]: g for g in sandbox.spend_limits(ACCOUNT)["gateways"]}
    return gateways[gateway], gateways[gateway]["rules"][0]


def hourly_billed(sandbox, sandbox_api, hours):
    out = []
    for _ in range(hours):
        before = billed(sandbox_api)
        sandbox.advance(HOUR)
        out.append(billed(sandbox_api) - before)
    return out


def test_fixed_rule_stops_usage_until_the_next_window_and_counts_what_it_refused(sandbox, sandbox_api):
    start_at_window_boundary(sandbox, 2 * HOUR)
    set_rules(
        sandbox_api,
        {"id": "r", "limit": 1.5, "limitType": "cost", "window": 2 * HOUR, "technique": "fixed"},
    )
    assert hourly_billed(sandbox, sandbox_api, 4) == [1, Decimal("0.5"), 1, Decimal("0.5")]
    gateway, rule = rule_state(sandbox)
    assert rule["blocked_cost"] == 1 and gateway["blocked_cost"] == 1
    assert rule["blocked_requests"] == int(1 / GPT_MINI_PER_REQUEST)
    assert rule["window_spend"] == 0 and rule["reached"] is False  # a new window has just begun
    sandbox.advance(HOUR + 1800)
    rule = rule_state(sandbox)[1]
    assert rule["window_spend"] == Decimal("1.5") and rule["reached"] is True
    # Refused traffic is not billed: the balance fell by the billed usage only.
    assert billed(sandbox_api) == Decimal("4.5")
    assert sandbox_api.balance(ACCOUNT) == 10_000 - 450


def test_fixed_windows_are_calendar_aligned_where_sliding_ones_are_not(sandbox, sandbox_api):
    # One hour into a two-hour window: the fixed rule starts afresh an hour later, the sliding one does not.
    start_at_window_boundary(sandbox, 2 * HOUR, offset_seconds=HOUR)
    rule = {"id": "r", "limit": 1.5, "limitType": "cost", "window": 2 * HOUR}
    set_rules(sandbox_api, {**rule, "technique": "fixed"})
    assert hourly_billed(sandbox, sandbox_api, 3) == [1, 1, Decimal("0.5")]
    sandbox.reset("empty")
    start_at_window_boundary(sandbox, 2 * HOUR, offset_seconds=HOUR)
    set_rules(sandbox_api, {**rule, "technique": "sliding"})
    assert hourly_billed(sandbox, sandbox_api, 3) == [1, Decimal("0.5"), 1]


def test_sliding_rule_resumes_as_old_spend_leaves_the_window(sandbox, sandbox_api):
    start_at_window_boundary(sandbox, HOUR)
    set_rules(
        sandbox_api, {"id": "r", "limit": 2, "limitType": "cost", "window": 3 * HOUR, "technique": "sliding"}
    )
    assert hourly_billed(sandbox, sandbox_api, 6) == [1, 1, 0, 1, 1, 0]
    assert rule_state(sandbox)[1]["blocked_cost"] == 2


def test_sliding_rule_shorter_than_an_hour_lets_a_window_s_worth_through_each_window(sandbox, sandbox_api):
    start_at_window_boundary(sandbox, HOUR)
    set_rules(
        sandbox_api, {"id": "r", "limit": 0.05, "limitType": "cost", "window": 600, "technique": "sliding"}
    )
    assert hourly_billed(sandbox, sandbox_api, 1) == [Decimal("0.3")]  # six 10-minute windows of $0.05


def test_rules_apply_only_to_their_gateway_model_and_provider(sandbox, sandbox_api):
    start_at_window_boundary(sandbox, 2 * HOUR)
    sandbox.put_gateways(
        ACCOUNT,
        gateways=[{"id": "chat"}, {"id": "default"}],
        mix=[
            ("chat", "openai", "gpt-4o-mini", 1),
            ("chat", "anthropic", "claude-sonnet-4", 1),
            ("default", "anthropic", "claude-sonnet-4", 1),
        ],
    )
    sonnet_only = {"mode": "filter", "values": ["claude-sonnet-4"]}
    rule = {"id": "sonnet", "limit": 0.01, "limitType": "cost", "window": 2 * HOUR, "model": sonnet_only}
    set_rules(sandbox_api, rule, gateway="chat")
    sandbox.advance(HOUR)
    gateway, state = rule_state(sandbox, "chat")
    assert state["window_spend"] == Decimal("0.01") and state["blocked_cost"] > Decimal("0.1")
    assert billed(sandbox_api) + gateway["blocked_cost"] == 1  # everything else went through
    other = {g["id"]: g for g in sandbox.spend_limits(ACCOUNT)["gateways"]}["default"]
    assert other["blocked_requests"] == 0


def test_disabled_rules_and_metadata_rules_refuse_nothing(sandbox, sandbox_api):
    start_at_window_boundary(sandbox, HOUR)
    tiny = {"limit": 0.01, "limitType": "cost", "window": HOUR}
    set_rules(
        sandbox_api,
        {**tiny, "id": "off", "enabled": False},
        {**tiny, "id": "per-user", "metadata": {"user_id": {"mode": "partition"}}},
    )
    sandbox.advance(HOUR)
    assert billed(sandbox_api) == 1
    body = {**CONFIG, "spend_limits": {"enabled": False, "rules": [{**tiny, "id": "x"}]}}
    sandbox_api.session.put(sandbox_api.gateway_url(ACCOUNT, "default"), json=body, timeout=10)
    sandbox.advance(HOUR)
    assert billed(sandbox_api) == 2


def test_a_rule_put_over_its_limit_refuses_from_now_and_the_account_limit_still_applies(sandbox, sandbox_api):
    start_at_window_boundary(sandbox, 86_400)
    sandbox.put_account(ACCOUNT, first_topup_success=True, spending_limit=None)
    sandbox.advance(2 * HOUR)
    set_rules(sandbox_api, {"id": "day", "limit": 1, "limitType": "cost", "window": 86_400})
    sandbox.advance(HOUR)
    assert billed(sandbox_api) == 2 and rule_state(sandbox)[1]["blocked_cost"] == 1
    set_rules(sandbox_api, {"id": "day", "limit": 10, "limitType": "cost", "window": 86_400})
    sandbox.put_account(ACCOUNT, spending_limit={"amount": 250, "duration": "daily", "strategy": "fixed"})
    sandbox.advance(HOUR)
    assert billed(sandbox_api) == Decimal("2.5")  # the account's $2.50 a day caps it before the rule does


def test_gateways_rules_attribution_and_refusals_survive_a_restart(tmp_path):
    state = tmp_path / "sandbox.json"
    with SandboxServer(state_file=state, speed=0.0) as srv:
        control, api = SandboxControl(srv.root_url), SandboxApi(srv.base_url)
        start_at_window_boundary(control, 2 * HOUR)
        control.put_gateways(ACCOUNT, gateways=[{"id": "chat"}], mix=[("chat", "openai", "gpt-4o-mini", 1)])
        set_rules(api, {"id": "r", "limit": 0.5, "limitType": "cost", "window": 2 * HOUR}, gateway="chat")
        control.advance(HOUR)
        before = (control.gateways(ACCOUNT), control.spend_limits(ACCOUNT), billed(api))
    with SandboxServer(state_file=state, speed=0.0) as srv:
        control, api = SandboxControl(srv.root_url), SandboxApi(srv.base_url)
        assert (control.gateways(ACCOUNT), control.spend_limits(ACCOUNT), billed(api)) == before
        control.advance(HOUR)  # the rule still holds: its window is spent
        assert billed(api) == before[2] == Decimal("0.5")


def test_demo_gateways_show_a_rule_near_its_limit_and_one_refusing_requests(sandbox_demo, sandbox_api):
    prod, staging, labs, research = (a for a, _ in DEMO_ACCOUNTS)
    for account in (prod, staging, labs, research):
        assert 2 <= len(sandbox_demo.gateways(account)["gateways"]) <= 3
    chat = {g["id"]: g for g in sandbox_demo.spend_limits(prod)["gateways"]}["chat-app"]["rules"][0]
    assert Decimal("0.84") < chat["window_spend"] / chat["limit"] < Decimal("0.86") and not chat["reached"]
    sonnet = sandbox_demo.spend_limits(labs)["gateways"][0]["rules"][0]
    assert sonnet["reached"] and sonnet["blocked_requests"] > 1000 and sonnet["blocked_cost"] > 10
    sandbox_demo.advance(24 * HOUR)
    later = sandbox_demo.spend_limits(labs)["gateways"][0]["rules"][0]
    assert later["blocked_requests"] > sonnet["blocked_requests"]  # still refusing as time goes on


def test_rules_are_enforced_only_once_spend_limits_are_enabled_as_cloudflare_defaults_them(
    sandbox, sandbox_api
):
    # Cloudflare's spec: spend_limits.enabled absent means off; the rules are kept, not enforced.
    start_at_window_boundary(sandbox, HOUR)
    rule = {"id": "r", "limit": 0.5, "limitType": "cost", "window": HOUR, "technique": "fixed"}
    body = {**CONFIG, "spend_limits": {"rules": [rule]}}
    assert sandbox_api.session.put(sandbox_api.gateway_url(ACCOUNT, "default"), json=body).status_code == 200
    assert hourly_billed(sandbox, sandbox_api, 1) == [1]
    gateway, state = rule_state(sandbox)
    assert state["in_force"] is False and gateway["blocked_requests"] == 0
    set_rules(sandbox_api, rule)  # the same rule with enabled: true
    assert hourly_billed(sandbox, sandbox_api, 1) == [Decimal("0.5")]
    assert rule_state(sandbox)[1]["in_force"] is True


def test_a_rule_without_technique_is_a_sliding_window(sandbox, sandbox_api):
    # The calendar-alignment case of the test above: a rule that does not say behaves as the sliding one.
    start_at_window_boundary(sandbox, 2 * HOUR, offset_seconds=HOUR)
    set_rules(sandbox_api, {"id": "r", "limit": 1.5, "limitType": "cost", "window": 2 * HOUR})
    assert hourly_billed(sandbox, sandbox_api, 3) == [1, Decimal("0.5"), 1]
    assert rule_state(sandbox)[1]["technique"] == "sliding"
