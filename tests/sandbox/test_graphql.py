"""The sandbox's GraphQL analytics over real HTTP: grouping, filters, ordering, aliases, variables, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cloudflare_sandbox import DEMO_ACCOUNTS
from tests.support.sandbox_fixtures import ACCOUNT

PROD, LABS = DEMO_ACCOUNTS[0][0], DEMO_ACCOUNTS[2][0]
HOUR_MS = 3_600_000
QUERY = """
query ($accountId: string, $start: Time, $end: Time, $limit: uint64) {
  viewer { accounts(filter: {accountTag: $accountId}) {
    groups: aiGatewayRequestsAdaptiveGroups(limit: $limit,
        filter: {datetimeHour_geq: $start, datetimeHour_leq: $end}, orderBy: [datetimeHour_ASC]) {
      count
      sum { cost uncachedTokensIn uncachedTokensOut cachedTokensIn cachedTokensOut
            cachedRequests erroredRequests }
      dimensions { gateway model provider datetimeHour }
    }
  } }
}
"""


# Wide enough for the whole demo history: these tests are about grouping, not the dataset's limits.
WIDE = {"maxDuration": 3_650 * 86_400, "notOlderThan": 3_650 * 86_400}
SINCE_EVER = 'filter: {datetime_geq: "2020-01-01T00:00:00Z"}'


@pytest.fixture
def sandbox_demo(sandbox_demo):
    sandbox_demo.configure(analytics_limits=WIDE)
    return sandbox_demo


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def data_of(response) -> dict:
    assert response.status_code == 200
    doc = response.json()
    assert doc["errors"] is None, doc["errors"]
    return doc["data"]["viewer"]["accounts"][0]


def error_of(response) -> dict:
    assert response.status_code == 200
    doc = response.json()
    assert doc["data"] is None and len(doc["errors"]) >= 1
    assert set(doc["errors"][0]) == {"message", "path", "extensions"}
    return doc["errors"][0]


def groups(sandbox_api, account, selection, args="limit: 10000", **variables):
    if "filter" not in args:
        args = f"{args}, {SINCE_EVER}"
    query = f"""query ($a: string) {{ viewer {{ accounts(filter: {{accountTag: $a}}) {{
        g: aiGatewayRequestsAdaptiveGroups({args}) {{ {selection} }} }} }} }}"""
    return data_of(sandbox_api.graphql(query, a=account, **variables))["g"]


def billed_total(sandbox_api, account) -> Decimal:
    history = sandbox_api.result(sandbox_api.get(account, "usage-history", value_grouping_window="hour"))
    return sum((Decimal(str(h["aggregated_value"])) for h in history["history"]), Decimal(0))


def test_the_documented_query_answers_hourly_groups(sandbox_demo, sandbox_api):
    now = sandbox_demo.clock()["now_ms"]
    start, end = iso(now // HOUR_MS * HOUR_MS - 24 * HOUR_MS), iso(now)
    rows = data_of(sandbox_api.graphql(QUERY, accountId=PROD, start=start, end=end, limit=10_000))["groups"]
    hours = [r["dimensions"]["datetimeHour"] for r in rows]
    assert hours == sorted(hours) and hours[0] == start and len(set(hours)) == 25
    assert {r["dimensions"]["gateway"] for r in rows} == {"chat-app", "batch-jobs", "default"}
    assert {(r["dimensions"]["provider"], r["dimensions"]["model"]) for r in rows} >= {
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-sonnet-4"),
        ("workers-ai", "@cf/meta/llama-3.1-8b-instruct"),
    }
    for r in rows:
        s = r["sum"]
        assert r["count"] >= s["cachedRequests"] + s["erroredRequests"] and s["cost"] >= 0
        assert s["uncachedTokensIn"] > s["uncachedTokensOut"] > 0 and s["cachedTokensIn"] >= 0


def test_groups_by_the_requested_dimensions_only_summing_the_rest(sandbox_demo, sandbox_api):
    by_gateway = groups(sandbox_api, PROD, "count sum { cost } dimensions { gateway }")
    by_model = groups(sandbox_api, PROD, "count sum { cost } dimensions { gateway model }")
    everything = groups(sandbox_api, PROD, "count sum { cost }")
    assert len(by_gateway) == 3 and len(by_model) == 5 and len(everything) == 1
    assert sum(g["count"] for g in by_gateway) == sum(g["count"] for g in by_model) == everything[0]["count"]
    assert set(by_gateway[0]["dimensions"]) == {"gateway"}
    assert sum(g["sum"]["cost"] for g in by_model) == pytest.approx(everything[0]["sum"]["cost"])


def test_analytics_cost_over_gateways_is_the_billed_usage_within_the_estimate_error(
    sandbox_demo, sandbox_api
):
    for account, _ in DEMO_ACCOUNTS:
        estimated = sum(Decimal(str(g["sum"]["cost"])) for g in groups(sandbox_api, account, "sum { cost }"))
        billed = billed_total(sandbox_api, account)
        assert abs(estimated - billed) <= billed * Decimal("0.02")
    hourly = groups(sandbox_api, PROD, "sum { cost } dimensions { datetimeHour }")
    history = sandbox_api.result(sandbox_api.get(PROD, "usage-history", value_grouping_window="hour"))
    billed_by_hour = {iso(h["start_time"]): h["aggregated_value"] for h in history["history"]}
    for g in hourly:  # each hour too: the estimate error is at most 2 % per hour and gateway
        billed_hour = float(billed_by_hour[g["dimensions"]["datetimeHour"]])
        assert g["sum"]["cost"] == pytest.approx(billed_hour, rel=0.021)


def test_equality_filters_order_by_and_limit(sandbox_demo, sandbox_api):
    rows = groups(
        sandbox_api,
        PROD,
        "sum { cost } dimensions { model datetimeHour }",
        'limit: 5, filter: {gateway: "chat-app", provider: "anthropic", date_geq: "2020-01-01"}, '
        "orderBy: [datetimeHour_DESC]",
    )
    assert len(rows) == 5 and {r["dimensions"]["model"] for r in rows} == {"claude-sonnet-4"}
    hours = [r["dimensions"]["datetimeHour"] for r in rows]
    assert hours == sorted(hours, reverse=True)
    costly = groups(
        sandbox_api, PROD, "sum { cost } dimensions { model }", "limit: 10, orderBy: [sum_cost_DESC]"
    )
    costs = [r["sum"]["cost"] for r in costly]
    assert costs == sorted(costs, reverse=True) and len(costs) == 4


def test_datetime_filters_cut_hours_into_minutes_and_minute_groups_add_up(sandbox_demo, sandbox_api):
    now = sandbox_demo.clock()["now_ms"]
    hour = now // HOUR_MS * HOUR_MS - 5 * HOUR_MS
    selection = "count sum { cost } dimensions { datetimeMinute }"
    window = f'limit: 100, filter: {{datetime_geq: "{iso(hour)}", datetime_lt: "{iso(hour + HOUR_MS)}"}}'
    minutes = groups(sandbox_api, PROD, selection, window)
    assert len(minutes) == 60 and minutes[0]["dimensions"]["datetimeMinute"] == iso(hour)
    whole = groups(sandbox_api, PROD, "count sum { cost } dimensions { datetimeHour }", window)
    assert len(whole) == 1 and whole[0]["count"] == sum(m["count"] for m in minutes)
    assert whole[0]["sum"]["cost"] == pytest.approx(sum(m["sum"]["cost"] for m in minutes))
    quarter = f'datetime_geq: "{iso(hour + 30 * 60_000)}", datetime_leq: "{iso(hour + 44 * 60_000)}"'
    half = f"limit: 10, filter: {{{quarter}}}"
    part = groups(sandbox_api, PROD, "count dimensions { datetimeHour }", half)
    assert 0 < part[0]["count"] < whole[0]["count"] / 3
    days = groups(sandbox_api, PROD, "count dimensions { date }", "limit: 1000")
    assert len(days) in (91, 92) and days[0]["dimensions"]["date"] < days[-1]["dimensions"]["date"]


def test_aliases_and_variables_answer_two_datasets_in_one_query(sandbox_demo, sandbox_api):
    query = """query ($a: string, $gw: string) { viewer { accounts(filter: {accountTag: $a}) {
        chat: aiGatewayRequestsAdaptiveGroups(limit: 10, filter: {gateway: $gw, date_geq: "2020-01-01"}) {
            total: count }
        all: aiGatewayRequestsAdaptiveGroups(limit: 10, filter: {date_geq: "2020-01-01"}) {
            total: count d: dimensions { gw: gateway } }
    } } }"""
    account = data_of(sandbox_api.graphql(query, a=PROD, gw="chat-app"))
    by_gateway = {r["d"]["gw"]: r["total"] for r in account["all"]}
    assert account["chat"] == [{"total": by_gateway["chat-app"]}]


def test_refused_requests_show_as_errored_requests(sandbox_demo, sandbox_api):
    rows = groups(
        sandbox_api, LABS, "count sum { erroredRequests } dimensions { gateway model }", "limit: 10"
    )
    errored = {
        (r["dimensions"]["gateway"], r["dimensions"]["model"]): r["sum"]["erroredRequests"] for r in rows
    }
    refused = sandbox_demo.spend_limits(LABS)["gateways"][0]["rules"][0]["blocked_requests"]
    assert errored[("experiments", "claude-sonnet-4")] >= refused > 1000


@pytest.mark.parametrize(
    ("selection", "args", "code", "message"),
    [
        ("count sum { price }", "limit: 5", "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'price'"),
        ("count", 'limit: 5, filter: {colour: "red"}', "GRAPHQL_VALIDATION_FAILED", "colour"),
        ("count", "limit: 5, orderBy: [price_ASC]", "GRAPHQL_VALIDATION_FAILED", "price_ASC"),
        ("count", f"limit: 5, {SINCE_EVER}, orderBy: [model_ASC]", "BAD_USER_INPUT", "orderBy: model is not"),
        ("count", "", "BAD_USER_INPUT", "limit: required"),
        ("count", "limit: 5", "BAD_USER_INPUT", "filter: required"),
        ("count", "limit: 10001", "BAD_USER_INPUT", "limit: must not exceed 10000"),
        ("count", 'limit: 5, filter: {datetime_geq: "yesterday"}', "GRAPHQL_VALIDATION_FAILED", "Time"),
    ],
)
def test_unsupported_queries_answer_200_with_graphql_errors(
    sandbox_demo, sandbox_api, selection, args, code, message
):
    query = f"""{{ viewer {{ accounts(filter: {{accountTag: "{PROD}"}}) {{
        aiGatewayRequestsAdaptiveGroups({args}) {{ {selection} }} }} }} }}""".replace("()", "")
    error = error_of(sandbox_api.graphql(query))
    assert error["extensions"]["code"] == code and message in error["message"]


def test_syntax_errors_bad_bodies_and_wrong_methods(sandbox_demo, sandbox_api):
    error = error_of(sandbox_api.graphql("{ viewer { accounts("))
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED" and error["message"].startswith(
        "Syntax Error"
    )
    bad = sandbox_api.session.post(f"{sandbox_api.base_url}/graphql", data=b"not json", timeout=10)
    assert error_of(bad)["extensions"]["code"] == "BAD_REQUEST"
    assert sandbox_api.session.get(f"{sandbox_api.base_url}/graphql", timeout=10).status_code == 405


def test_a_token_without_analytics_permission_or_a_foreign_account_is_not_authorized(
    sandbox_demo, sandbox_api
):
    assert error_of(sandbox_api.graphql(QUERY, accountId="f" * 32, limit=5))["extensions"]["code"] == "authz"
    sandbox_demo.configure(analytics_read=False)
    error = error_of(sandbox_api.graphql(QUERY, accountId=PROD, limit=5))
    assert (error["message"], error["path"]) == ("not authorized for that account", ["viewer", "accounts"])
    assert error["extensions"]["code"] == "authz" and error["extensions"]["timestamp"].endswith("Z")
    assert sandbox_api.get(PROD, "credit-balance").status_code == 200  # the billing API is not affected


def test_graphql_shares_auth_faults_and_the_request_log_but_has_its_own_quota(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT)
    sandbox.clear_requests()
    unauthenticated = sandbox_api.session.post(
        f"{sandbox_api.base_url}/graphql",
        json={"query": "{ viewer { accounts } }"},
        headers={"Authorization": ""},
    )
    assert unauthenticated.status_code == 401
    sandbox.add_fault(path_contains="/graphql", status=502, body="html")
    assert sandbox_api.graphql(QUERY, accountId=ACCOUNT, limit=5).status_code == 502
    sandbox.configure(rate_limit=[1, 300])  # the REST budget: GraphQL does not count against it
    statuses = [sandbox_api.graphql(QUERY, accountId=ACCOUNT, limit=5).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    sandbox.configure(rate_limit=[1200, 300], graphql_rate_limit=[1, 300])
    answers = [sandbox_api.graphql(QUERY, accountId=ACCOUNT, limit=5) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 429, 429]
    assert 200 < int(answers[-1].headers["retry-after"]) <= 300
    assert (
        answers[-1].json()["errors"][0]["message"]
        == "rate limiter budget depleted, try again after 5 minutes"
    )
    assert sandbox_api.get(ACCOUNT, "credit-balance").status_code == 200
    log = sandbox.requests()
    assert [(e["path"], e["status"]) for e in log][:2] == [
        ("/client/v4/graphql", 401),
        ("/client/v4/graphql", 502),
    ]
    assert [e for e in log if e["path"].endswith("/graphql")][-1]["body"]["variables"]["accountId"] == ACCOUNT


SETTINGS = """query ($a: string!) { viewer { accounts(filter: {accountTag: $a}) { settings {
    aiGatewayRequestsAdaptiveGroups { enabled maxDuration maxNumberOfFields maxPageSize notOlderThan
                                      availableFields } } } } }"""


def test_the_settings_node_answers_the_limits_the_dataset_enforces(sandbox_demo, sandbox_api):
    sandbox_demo.configure(analytics_limits={"maxDuration": 86_400, "notOlderThan": 7 * 86_400})
    node = data_of(sandbox_api.graphql(SETTINGS, a=PROD))["settings"]["aiGatewayRequestsAdaptiveGroups"]
    assert node["maxDuration"] == 86_400 and node["notOlderThan"] == 7 * 86_400 and node["enabled"]
    assert (node["maxPageSize"], node["maxNumberOfFields"]) == (10_000, 30)
    assert {"count", "sum_cost", "sum_cachedRequests", "dimensions_datetimeHour"} <= set(
        node["availableFields"]
    )
    now = sandbox_demo.clock()["now_ms"]
    hour = now // HOUR_MS * HOUR_MS
    day = groups(
        sandbox_api, PROD, "count", f'limit: 10, filter: {{datetime_geq: "{iso(hour - 23 * HOUR_MS)}"}}'
    )
    assert day[0]["count"] > 0
    for window, message in (
        (
            f'datetime_geq: "{iso(hour - 48 * HOUR_MS)}", datetime_leq: "{iso(hour)}"',
            "Time range can't be wider",
        ),
        (
            f'datetime_geq: "{iso(now - 8 * 86_400_000)}", datetime_leq: "{iso(now - 7 * 86_400_000)}"',
            "older",
        ),
    ):
        query = f"""{{ viewer {{ accounts(filter: {{accountTag: "{PROD}"}}) {{
            aiGatewayRequestsAdaptiveGroups(limit: 5, filter: {{{window}}}) {{ count }} }} }} }}"""
        error = error_of(sandbox_api.graphql(query))
        assert message in error["message"] and error["path"][-1] == "aiGatewayRequestsAdaptiveGroups"
    sandbox_demo.configure(analytics_limits={"maxNumberOfFields": 2, "maxPageSize": 3})
    too_many = groups_error(sandbox_api, "count sum { cost cachedRequests }", "limit: 3")
    assert too_many == "number of fields cannot be more than 2"
    assert groups_error(sandbox_api, "count", "limit: 4") == "limit must be less or equal to 3"


def groups_error(sandbox_api, selection, args) -> str:
    query = f"""{{ viewer {{ accounts(filter: {{accountTag: "{PROD}"}}) {{
        aiGatewayRequestsAdaptiveGroups({args}, {SINCE_EVER}) {{ {selection} }} }} }} }}"""
    return error_of(sandbox_api.graphql(query))["message"]


def test_unknown_fields_empty_answers_and_negative_filters(sandbox_demo, sandbox_api):
    rows = groups(
        sandbox_api,
        PROD,
        "count dimensions { gateway }",
        'limit: 10, filter: {gateway_neq: "default", date_geq: "2020-01-01"}',
    )
    assert {r["dimensions"]["gateway"] for r in rows} == {"chat-app", "batch-jobs"}
    rows = groups(
        sandbox_api,
        PROD,
        "count dimensions { gateway }",
        'limit: 10, filter: {gateway_notin: ["default", "chat-app"], date_geq: "2020-01-01"}',
    )
    assert {r["dimensions"]["gateway"] for r in rows} == {"batch-jobs"}
    sandbox_demo.configure(analytics_unknown_fields=["cachedTokensIn"])
    assert groups_error(sandbox_api, "sum { cost cachedTokensIn }", "limit: 5").startswith(
        "Cannot query field 'cachedTokensIn'"
    )
    node = data_of(sandbox_api.graphql(SETTINGS, a=PROD))["settings"]["aiGatewayRequestsAdaptiveGroups"]
    assert "sum_cachedTokensIn" not in node["availableFields"] and "sum_cost" in node["availableFields"]
    sandbox_demo.configure(analytics_empty=True)
    assert groups(sandbox_api, PROD, "count sum { cost }") == []
    assert sandbox_api.result(sandbox_api.get(PROD, "usage-history", value_grouping_window="day"))["history"]
