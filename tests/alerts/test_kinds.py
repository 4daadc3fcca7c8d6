"""One entry per alert kind (billing/alerts/kinds.py): every kind has one, its direction is the one its
checks, levels and rule form use, its defaults are the ones the migrations seed, and its fix page is its
own."""

import re
from decimal import Decimal

import pytest
from django.test import override_settings

from billing.alerts.kinds import KINDS, PORTAL_KINDS
from billing.alerts.levels import Direction
from billing.forms.alerts import AlertRuleForm
from billing.models import Account, AlertKind, AlertRule, PortalAlertKind
from tests.support.alerts import BASE

DIRECTED = [entry for entry in KINDS.values() if entry.scale.direction is not None]
WITH_LEVELS = [entry for entry in DIRECTED if entry.scale.levels]
ABOVE = [entry for entry in DIRECTED if entry.scale.direction is Direction.ABOVE]


def name(entry) -> str:
    return entry.kind.value


def test_every_kind_has_one_entry_and_every_entry_is_a_kind():
    assert sorted(KINDS) == sorted(AlertKind.values)
    assert all(entry.kind == name for name, entry in KINDS.items())
    assert sorted(PORTAL_KINDS) == sorted(PortalAlertKind.values)


@pytest.mark.django_db
def test_the_portal_defaults_are_the_ones_each_entry_names():
    seeded = {
        rule.kind: (rule.threshold, rule.hysteresis, [Decimal(level) for level in rule.further_levels])
        for rule in AlertRule.objects.filter(account=None)
    }
    named = {
        name: (
            Decimal(entry.defaults.threshold),
            Decimal(entry.defaults.hysteresis),
            [Decimal(level) for level in entry.defaults.further_levels],
        )
        for name, entry in KINDS.items()
    }
    assert seeded == named


@pytest.mark.parametrize("entry", KINDS.values(), ids=name)
def test_defaults_and_examples_of_levels_are_within_bounds_and_in_the_kinds_direction(entry):
    low, high = entry.bounds
    defaults = [Decimal(entry.defaults.threshold), *(Decimal(v) for v in entry.defaults.further_levels)]
    assert low < high
    assert all(low <= value <= high for value in defaults)
    if entry.scale.levels:
        example = [Decimal(number) for number in re.findall(r"\d+(?:\.\d+)?", entry.levels_example)]
        assert len(example) >= 2
        assert entry.scale.direction.ordered(example) == example
        assert entry.scale.direction.ordered(defaults) == defaults
    else:
        assert (entry.levels_example, entry.defaults.further_levels) == ("", ())


@pytest.mark.parametrize("entry", DIRECTED, ids=name)
def test_a_kind_fires_past_its_threshold_and_resolves_only_past_its_margin(entry):
    rule = AlertRule(kind=entry.kind, threshold=Decimal(50), hysteresis=Decimal(5))
    worse, edge, inside_margin, cleared = (
        (Decimal(49), Decimal(50), Decimal(54), Decimal(55))
        if entry.scale.direction is Direction.BELOW
        else (Decimal(51), Decimal(50), Decimal(46), Decimal(45))
    )
    assert entry.scale.reached(rule, worse) == 1
    assert entry.scale.reached(rule, edge) == 0
    assert not entry.scale.clears(rule, inside_margin)
    assert entry.scale.clears(rule, cleared)


@pytest.mark.parametrize("entry", WITH_LEVELS, ids=name)
def test_the_rule_form_refuses_levels_against_the_kinds_direction(entry):
    threshold = Decimal(entry.defaults.threshold)
    backwards = threshold + 1 if entry.scale.direction is Direction.BELOW else threshold - 1
    data = {"enabled": "on", "threshold": str(threshold), "further_levels": str(backwards), "hysteresis": "0"}
    form = AlertRuleForm({**data, "reminder_hours": "24"}, kind=entry.kind)
    assert not form.is_valid()
    assert f"are {entry.scale.direction.more_severe} than the threshold" in str(form.errors["further_levels"])


@pytest.mark.parametrize("entry", ABOVE, ids=name)
def test_a_margin_as_large_as_the_threshold_is_refused_for_kinds_that_alert_above(entry):
    high = entry.bounds[1]
    data = {"enabled": "on", "threshold": str(high), "hysteresis": str(high), "reminder_hours": "24"}
    form = AlertRuleForm(data, kind=entry.kind)
    assert not form.is_valid()
    assert "or the alert never resolves" in str(form.errors["hysteresis"])


@pytest.mark.parametrize("entry", KINDS.values(), ids=name)
def test_figure_keys_are_unique_machine_names(entry):
    keys = [figure.key for figure in entry.figures]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", key) for key in keys)
    assert {"value", "level_reached"}.isdisjoint(keys)  # every message's own, never a kind's


# The figure keys of the webhook body (aigateway-billing.alert/v1): consumers rely on them, never change them.
V1_FIGURE_KEYS = {
    AlertKind.LOW_BALANCE: ["balance", "spend_per_day", "runway", "auto_top_up"],
    AlertKind.RUNWAY: ["balance", "spend_per_day", "runway", "auto_top_up"],
    AlertKind.AUTO_TOPUP_FAILING: ["auto_top_up", "balance", "spend_per_day", "runway"],
    AlertKind.SPENDING_LIMIT: [
        "spending_limit",
        "spent_this_window",
        "used",
        "alert_above",
        "balance",
        "spend_per_day",
        "runway",
    ],
    AlertKind.STALE_DATA: ["data_as_of", "balance", "spend_per_day", "runway"],
    AlertKind.USAGE_SPIKE: ["spend_today", "balance", "spend_per_day", "runway"],
    AlertKind.GATEWAY_RULE: ["balance", "spend_per_day", "runway", "auto_top_up"],
    AlertKind.LEDGER_UNBALANCED: ["ledger_day", "unexplained", "balance", "spend_per_day", "runway"],
    AlertKind.FORECAST_OVER_BUDGET: [
        "month_to_date",
        "month_forecast",
        "monthly_budget",
        "balance",
        "spend_per_day",
        "runway",
    ],
}


def test_each_kind_reports_the_v1_figure_keys():
    assert {name: [figure.key for figure in entry.figures] for name, entry in KINDS.items()} == V1_FIGURE_KEYS
    sweeps = PORTAL_KINDS[PortalAlertKind.SWEEPS_STALLED]
    assert [figure.key for figure in sweeps.figures] == ["last_completed_sweep", "expected_every"]


@override_settings(PORTAL_BASE_URL=BASE)
def test_a_gateway_rules_fix_page_is_that_gateways_rule_page():
    account = Account(cloudflare_id="c" * 32, name="Acme Prod")
    words, url = KINDS[AlertKind.GATEWAY_RULE].fix.link(account, {"gateway": "chat-app", "rule": "rule-1"})
    assert (words, url) == (
        "Open the rules of chat-app",
        f"{BASE}/accounts/{'c' * 32}/gateways/chat-app/rules/",
    )
