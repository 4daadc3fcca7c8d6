"""Simulated time in the sandbox: usage and its rhythm, top-ups, auto top-up, spending limits, the demo."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from cloudflare_sandbox import DEMO_ACCOUNTS
from tests.support.sandbox_fixtures import ACCOUNT, VISA, to_next_hour

HOUR = 3600
PROD, STAGING, LABS, RESEARCH = (account_id for account_id, _ in DEMO_ACCOUNTS)


def history(api, account_id, window="hour", **params):
    return api.result(api.get(account_id, "usage-history", value_grouping_window=window, **params))["history"]


def total(entries) -> Decimal:
    return sum((Decimal(e["aggregated_value"]) for e in entries), Decimal(0))


def test_usage_accrues_with_time_and_is_deducted_exactly_from_the_balance(sandbox, sandbox_api):
    sandbox.put_account(ACCOUNT, balance=10_000, usage_per_hour=Decimal("2"), usage_rhythm=False)
    sandbox.advance(HOUR)
    assert sandbox_api.balance(ACCOUNT) == Decimal("9800")  # $2 of usage is 200 cents
    assert total(history(sandbox_api, ACCOUNT)) == Decimal("2")
    sandbox.advance(1800)
    assert sandbox_api.balance(ACCOUNT) == Decimal("9700")
    assert total(history(sandbox_api, ACCOUNT, "day")) == Decimal("3")


def test_a_frozen_clock_accrues_nothing(sandbox, sandbox_api, machine_clock):
    sandbox.put_account(ACCOUNT, balance=10_000, usage_per_hour=5)
    before = sandbox_api.balance(ACCOUNT)
    machine_clock.advance(HOUR)  # an hour of the machine's time: at speed 0, no simulated time at all
    assert sandbox_api.balance(ACCOUNT) == before == 10_000


def test_speed_makes_simulated_time_run_faster(sandbox, sandbox_api, machine_clock):
    sandbox.put_account(ACCOUNT, balance=10_000, usage_per_hour=36, usage_rhythm=False)
    sandbox.configure(speed=3600.0)  # one simulated hour per real second
    machine_clock.advance(0.2)
    sandbox.configure(speed=0.0)
    spent = 10_000 - sandbox_api.balance(ACCOUNT)
    assert 36 * 100 * Decimal("0.15") < spent < 36 * 100 * Decimal("0.5")


def test_hour_and_day_summaries_have_ids_and_unix_ms_bounds(sandbox_demo, sandbox_api):
    hours = history(sandbox_api, PROD)
    days = history(sandbox_api, PROD, "day")
    assert len(hours) >= 90 * 24 and 90 <= len(days) <= 92
    for entry in hours[:50]:
        assert entry["end_time"] - entry["start_time"] == 3_600_000 and entry["start_time"] % 3_600_000 == 0
    for entry in days:
        assert entry["end_time"] - entry["start_time"] == 86_400_000 and entry["start_time"] % 86_400_000 == 0
    assert len({e["id"] for e in hours}) == len(hours) and len({e["id"] for e in days}) == len(days)
    assert total(days) == total(hours)
    assert hours == sorted(hours, key=lambda e: e["start_time"])


def test_usage_history_honours_start_and_end_time(sandbox_demo, sandbox_api):
    hours = history(sandbox_api, PROD)
    start, end = hours[100]["start_time"], hours[103]["start_time"]
    picked = history(sandbox_api, PROD, start_time=start, end_time=end)
    assert [e["start_time"] for e in picked] == [start, start + 3_600_000, start + 7_200_000]
    assert history(sandbox_api, PROD, start_time=hours[-1]["start_time"]) == hours[-1:]
    day_start = hours[100]["start_time"] // 86_400_000 * 86_400_000
    days = history(sandbox_api, PROD, "day", start_time=day_start, end_time=day_start + 2 * 86_400_000)
    assert [d["start_time"] for d in days] == [day_start, day_start + 86_400_000]
    same_day_hours = [h for h in hours if day_start <= h["start_time"] < day_start + 86_400_000]
    assert Decimal(days[0]["aggregated_value"]) == total(same_day_hours)


def test_demo_usage_follows_a_daily_and_weekly_rhythm(sandbox_demo, sandbox_api):
    by_hour, by_weekday = defaultdict(list), defaultdict(list)
    for entry in history(sandbox_api, PROD)[:-1]:
        moment = datetime.fromtimestamp(entry["start_time"] / 1000, UTC)
        by_hour[moment.hour].append(Decimal(entry["aggregated_value"]))
    for entry in history(sandbox_api, PROD, "day")[1:-1]:
        weekday = datetime.fromtimestamp(entry["start_time"] / 1000, UTC).weekday()
        by_weekday[weekday].append(Decimal(entry["aggregated_value"]))
    assert statistics.mean(by_hour[13]) > 3 * statistics.mean(by_hour[3])  # afternoon peak, quiet night
    weekend = statistics.mean(by_weekday[5] + by_weekday[6])
    midweek = statistics.mean(by_weekday[1] + by_weekday[2])
    assert weekend < Decimal("0.8") * midweek


def test_auto_topup_fires_below_the_threshold_and_credits_after_the_delay(sandbox, sandbox_api):
    # The clock stands still but for the advance below: the exact balance must not depend on how long the
    # machine takes between the calls (under load a few hundred real milliseconds added 0.0001 cents), nor
    # on the millisecond the account starts at (each stretch of usage is rounded to a micro-dollar).
    sandbox.configure(speed=0)
    to_next_hour(sandbox)
    sandbox.put_account(
        ACCOUNT,
        balance=1_500,
        payment_method=VISA,
        usage_per_hour=1,
        usage_rhythm=False,
        topup_config={"amount": 5_000, "threshold": 1_000},
    )
    sandbox.advance(5 * HOUR + 1800)  # $5.50 spent: 950 cents left, below the $10 threshold
    state = sandbox.account(ACCOUNT)
    assert [(t["origin"], t["status"], t["amount"]) for t in state["topups"]] == [
        ("auto", "completed", 5_000)
    ]
    # The top-up fired when the balance crossed 1000 (after 5 h) and completed 5 s later.
    assert state["balance"] == Decimal(1_500 - 550 + 5_000)
    auto = sandbox_api.result(sandbox_api.get(ACCOUNT, "invoice-history", type="auto"))["invoices"]
    assert [(i["status"], i["amount_due"]) for i in auto] == [("paid", 5_250)]


def test_auto_topup_does_not_fire_again_while_one_is_pending(sandbox):
    sandbox.configure(topup_delay_seconds=3 * HOUR)
    sandbox.put_account(
        ACCOUNT,
        balance=900,
        payment_method=VISA,
        usage_per_hour=1,
        usage_rhythm=False,
        topup_config={"amount": 1_000, "threshold": 1_000},
    )
    sandbox.advance(2 * HOUR)
    assert [t["status"] for t in sandbox.account(ACCOUNT)["topups"]] == ["pending"]
    sandbox.advance(HOUR)
    assert sandbox.account(ACCOUNT)["balance"] == Decimal(900 - 300 + 1_000)


def test_auto_topup_without_a_card_fails_and_says_why(sandbox, sandbox_api):
    sandbox.put_account(
        ACCOUNT,
        balance=1_200,
        usage_per_hour=1,
        usage_rhythm=False,
        first_topup_success=True,
        topup_config={"amount": 5_000, "threshold": 1_000},
    )
    sandbox.advance(3 * HOUR)
    config = sandbox_api.result(sandbox_api.get(ACCOUNT, "topup/config"))
    assert config["amount"] == 5_000 and config["error"] and config["disabledReason"] == "no_payment_method"
    failed_at = config["lastFailedAt"]
    assert abs(failed_at - (sandbox.clock()["now"] - HOUR)) <= 61  # crossed $10 within a minute of 2 h
    sandbox.advance(10 * HOUR)
    state = sandbox.account(ACCOUNT)
    assert state["topups"] == [] and state["balance"] == Decimal(1_200 - 1_300)  # credit goes negative
    # Setting the config again (say, after adding a card) clears the failure.
    sandbox.put_account(ACCOUNT, payment_method=VISA)
    sandbox_api.post(ACCOUNT, "topup/config", json={"amount": 5_000, "threshold": 1_000})
    config = sandbox_api.result(sandbox_api.get(ACCOUNT, "topup/config"))
    assert (config["error"], config["disabledReason"], config["lastFailedAt"]) == (None, None, None)
    assert [t["origin"] for t in sandbox.account(ACCOUNT)["topups"]] == ["auto"]


def test_fixed_daily_spending_limit_stops_usage_until_the_next_day(sandbox, sandbox_api):
    now = sandbox.clock()["now"]
    sandbox.advance(86_400 - now % 86_400 + 60)  # just after 00:00 UTC
    sandbox.put_account(
        ACCOUNT,
        balance=100_000,
        payment_method=VISA,
        first_topup_success=True,
        usage_per_hour=1,
        usage_rhythm=False,
    )
    r = sandbox_api.post(
        ACCOUNT, "spending-limit", json={"amount": 500, "duration": "daily", "strategy": "fixed"}
    )
    assert r.status_code == 201
    sandbox.advance(10 * HOUR)
    assert sandbox_api.balance(ACCOUNT) == 100_000 - 500  # capped at $5 although $10 would have accrued
    assert sandbox.account(ACCOUNT)["spending_limit_reached"] is True
    sandbox.advance(14 * HOUR + 2 * HOUR)  # into the next UTC day
    assert sandbox_api.balance(ACCOUNT) < 100_000 - 500
    assert sandbox.account(ACCOUNT)["spending_limit_reached"] is False


def test_sliding_spending_limit_lets_usage_resume_as_old_hours_leave_the_window(sandbox, sandbox_api):
    sandbox.put_account(
        ACCOUNT,
        balance=100_000,
        payment_method=VISA,
        first_topup_success=True,
        usage_per_hour=1,
        usage_rhythm=False,
    )
    sandbox_api.post(
        ACCOUNT, "spending-limit", json={"amount": 300, "duration": "daily", "strategy": "sliding"}
    )
    sandbox.advance(6 * HOUR)
    assert sandbox_api.balance(ACCOUNT) == 100_000 - 300
    sandbox.advance(12 * HOUR)
    stalled = sandbox_api.balance(ACCOUNT)
    assert stalled == 100_000 - 300
    sandbox.advance(8 * HOUR)  # the first usage hours have slid out of the last 24 h
    assert sandbox_api.balance(ACCOUNT) < stalled
    last_day = history(sandbox_api, ACCOUNT)[-24:]
    assert total(last_day) <= 3


def test_deleting_the_spending_limit_lets_usage_run_again(sandbox, sandbox_api):
    sandbox.put_account(
        ACCOUNT,
        balance=100_000,
        first_topup_success=True,
        usage_per_hour=1,
        usage_rhythm=False,
        spending_limit={"amount": 100, "duration": "monthly", "strategy": "sliding"},
    )
    sandbox.advance(3 * HOUR)
    assert sandbox_api.balance(ACCOUNT) == 100_000 - 100
    sandbox_api.delete(ACCOUNT, "spending-limit")
    sandbox.advance(2 * HOUR)
    assert sandbox_api.balance(ACCOUNT) == 100_000 - 300


def test_demo_seed_shows_every_state_the_portal_handles(sandbox_demo, sandbox_api):
    prod, staging, labs, research = (sandbox_demo.account(a) for a in (PROD, STAGING, LABS, RESEARCH))
    names = [a["name"] for a in (prod, staging, labs, research)]
    assert names == ["Acme Prod", "Acme Staging", "Labs", "Research"]
    # Healthy: card, auto top-up on and working, well above the threshold.
    assert prod["has_default_payment_method"] and prod["topup_config"]["error"] is None
    assert prod["balance"] > prod["topup_config"]["threshold"]
    assert {t["origin"] for t in prod["topups"]} == {"manual", "auto"}
    # Low and falling: no auto top-up, a few days of credit left at most.
    day_spend = total(history(sandbox_api, STAGING, "day")[-8:-1]) / 7 * 100
    assert staging["topup_config"] is None and 0 < staging["balance"] < 3 * day_spend
    # Failing: auto top-up configured, no card, negative balance, error reported.
    assert labs["balance"] < 0 and not labs["has_default_payment_method"]
    assert labs["topup_config"]["disabledReason"] and labs["topup_config"]["lastFailedAt"]
    # Near its cap.
    limit = research["spending_limit"]["amount"]
    assert Decimal("0.85") * limit < research["spending_limit_window_spend_cents"] < limit
    for account in (prod, staging, labs, research):
        assert account["first_topup_success"] is True
        assert all(t["status"] == "completed" for t in account["topups"])
        assert account["usage_hours"] >= 90 * 24
    invoices = sandbox_api.result(sandbox_api.get(PROD, "invoice-history"))["invoices"]
    created = [i["created"] for i in invoices]
    now = sandbox_demo.clock()["now"]
    assert min(created) < now - 85 * 86_400 and max(created) - min(created) > 60 * 86_400
    assert {i["invoice_origin"] for i in invoices} == {"manual", "auto"}


def test_every_read_answers_with_90_days_of_history(sandbox_demo, sandbox_api):
    # Speed is measured by the benchmark (bench/), not asserted here.
    for op, params in [
        ("credit-balance", {}),
        ("usage-history", {"value_grouping_window": "day"}),
        ("invoice-history", {}),
        ("invoice-preview", {}),
    ]:
        assert sandbox_api.get(PROD, op, **params).status_code == 200
    assert len(history(sandbox_api, PROD)) >= 2160  # the largest answer: 90 days of hours


def test_advancing_the_clock_30_days_accrues_usage_and_spends_credit(sandbox_demo, sandbox_api):
    balance_before = sandbox_api.balance(STAGING)
    sandbox_demo.advance(30 * 86_400)
    assert sandbox_api.balance(STAGING) < balance_before - 30 * 100  # more than $1/day of usage, no top-up
    assert len(history(sandbox_api, PROD)) >= 120 * 24
