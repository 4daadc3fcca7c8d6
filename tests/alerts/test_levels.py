"""Rules with several levels, end to end through a real SMTP server and a real webhook receiver: each level
is announced once per alert, never again for a reading moving back and forth across it; the alert resolves
once, past level 1 and its margin; two workers evaluating at once escalate once. And the rule form's levels.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import AlertEvent, AlertKind, AlertRule, ChannelKind, Delivery
from billing.notifications import channel_admin
from billing.notifications import outbox as mail
from billing.pipeline import evaluate_alerts
from tests.support.alert_scenarios import ninety_of_a_hundred_spent
from tests.support.alerts import BASE, deliver, only_rule, rule_form, run_together
from tests.support.clock import SUITE_NOW
from tests.support.history import snapshot
from tests.support.http_receiver import Receiver

START = SUITE_NOW - timedelta(days=1)


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.ALERT_OPERATOR_EMAILS = ["ops@example.com"]
    settings.ALERT_HTTP_CONNECT_TIMEOUT = 2
    settings.ALERT_HTTP_READ_TIMEOUT = 2


def three_levels(account, **fields):
    """Low balance at $100 / $20 / $5, resolving at $110 ($10 margin), no reminders."""
    return only_rule(
        account, threshold="100", hysteresis="10", further_levels=["20", "5"], reminder_hours=0, **fields
    )


def balance_at(account, minutes: int, balance: str) -> list:
    """A snapshot `minutes` after START and an evaluation then; returns the changes."""
    at = START + timedelta(minutes=minutes)
    snapshot(account, balance, at=at)
    return evaluate_alerts(account, now=at)


def walk(account, balances: list[str]) -> list[tuple[str, str]]:
    changes = []
    for minute, balance in enumerate(balances):
        changes += [(balance, change.action) for change in balance_at(account, minute, balance)]
    return changes


def test_each_level_is_announced_once_and_the_alert_resolves_once(account, manager, smtp_server):
    three_levels(account)

    changes = walk(account, ["50", "15", "25", "15", "19", "3", "8", "3", "105", "15", "120", "130"])
    deliver()

    assert changes == [("50", "opened"), ("15", "escalated"), ("3", "escalated"), ("120", "resolved")]
    assert smtp_server.subjects() == [
        "Low balance: Acme Prod $50.00, below $100.00 (level 1 of 3)",
        "Now below $20.00 (level 2 of 3): Low balance: Acme Prod $15.00, below $20.00 (level 2 of 3)",
        "Now below $5.00 (level 3 of 3): Low balance: Acme Prod $3.00, below $5.00 (level 3 of 3)",
        "Resolved: Low balance on Acme Prod, now $120.00",
    ]
    event = AlertEvent.objects.get()
    assert (event.level, event.is_open) == (3, False)
    assert [step["level"] for step in event.details["levels"]] == [2, 3]


def test_hovering_at_level_one_without_clearing_its_margin_sends_nothing_new(account, manager, smtp_server):
    three_levels(account)

    changes = walk(account, ["99", "101", "99", "109", "99.5", "108"])
    deliver()

    assert changes == [("99", "opened")]
    assert len(smtp_server.messages) == 1


def test_a_new_episode_announces_its_levels_again(account, manager, smtp_server):
    three_levels(account)

    changes = walk(account, ["15", "111", "15"])

    assert changes == [("15", "opened"), ("111", "resolved"), ("15", "opened")]
    assert [event.level for event in AlertEvent.objects.order_by("pk")] == [2, 2]


def test_opening_at_a_severe_level_says_that_level_in_one_message(account, manager, smtp_server):
    three_levels(account)

    changes = walk(account, ["3", "4"])
    deliver()

    assert changes == [("3", "opened")]
    assert smtp_server.subjects() == ["Low balance: Acme Prod $3.00, below $5.00 (level 3 of 3)"]
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "Level reached:  3 of 3: below $5.00" in text


def test_a_one_level_rule_reads_as_before(account, manager, smtp_server):
    only_rule(account)  # $10, no further levels
    walk(account, ["4.20"])
    deliver()
    assert smtp_server.subjects() == ["Low balance: Acme Prod $4.20, threshold $10.00"]
    assert "Level" not in smtp_server.messages[0].get_body(("plain",)).get_content()


@pytest.mark.django_db(transaction=True)
def test_two_workers_evaluating_at_once_escalate_once(account, manager, smtp_server):
    three_levels(account)
    balance_at(account, 0, "50")
    at = START + timedelta(minutes=1)
    snapshot(account, "15", at=at)

    run_together(3, lambda: evaluate_alerts(account, now=at))
    run_together(2, deliver)

    assert AlertEvent.objects.get().level == 2
    assert Delivery.objects.filter(alert_state="escalated").count() == 1
    assert sorted(smtp_server.subjects())[0].startswith("Low balance: Acme Prod $50.00")
    assert [s for s in smtp_server.subjects() if s.startswith("Now below $20.00")] != []
    assert len(smtp_server.messages) == 2


def test_webhook_and_slack_say_the_level(account, manager):
    receiver = Receiver().start()
    try:
        rule = three_levels(account)
        hook = channel_admin.create_channel(None, name="Hook", kind=ChannelKind.WEBHOOK, url=receiver.url)
        team = channel_admin.create_channel(None, name="Slack", kind=ChannelKind.SLACK, url=receiver.url)
        rule.channels.add(hook.channel, team.channel)
        walk(account, ["50", "15"])
        mail.send_outbox()
    finally:
        receiver.stop()

    bodies = [json.loads(r.body) for r in receiver.received]
    hooks = sorted((b for b in bodies if "schema" in b), key=lambda b: b["occurred_at"])
    slack = [b for b in bodies if "blocks" in b]
    assert [(b["state"], b["level"]) for b in hooks] == [
        ("opened", {"index": 1, "of": 3, "threshold": "100"}),
        ("reminder", {"index": 2, "of": 3, "threshold": "20"}),
    ]
    assert hooks[1]["headline"] == "Low balance: Acme Prod $15.00, below $20.00 (level 2 of 3)"
    assert hooks[1]["figures"]["level_reached"] == "2 of 3: below $20.00"
    headers = sorted(b["blocks"][0]["text"]["text"] for b in slack)
    assert headers == ["Low balance · level 1 of 3", "Low balance · now level 2 of 3"]
    print(json.dumps(hooks[1], indent=2))


def test_a_one_level_rules_webhook_has_no_level(account, manager):
    receiver = Receiver().start()
    try:
        rule = only_rule(account)
        hook = channel_admin.create_channel(None, name="Hook", kind=ChannelKind.WEBHOOK, url=receiver.url)
        rule.channels.add(hook.channel)
        walk(account, ["4"])
        mail.send_outbox()
    finally:
        receiver.stop()
    assert "level" not in json.loads(receiver.received[0].body)


def test_crossing_the_last_level_and_the_limit_at_once_sends_one_message(account, manager, smtp_server):
    from tests.support.history import day_usage, utc_midnight

    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="50", hysteresis="5", further_levels=["80", "95"])
    ninety_of_a_hundred_spent(account)
    opened = evaluate_alerts(account)
    day_usage(account, utc_midnight(5), "15")
    snapshot(account, "500")
    escalated = evaluate_alerts(account) + evaluate_alerts(account)
    deliver()

    assert [c.action for c in opened + escalated] == ["opened", "escalated"]
    assert smtp_server.subjects() == [
        "Spending limit nearly used: Acme Prod has used 90% ($90.00 of $100.00/month), "
        "above 80% (level 2 of 3)",
        "Now above 95% (level 3 of 3): Spending limit exceeded: Acme Prod has used 105% ($105.00 of "
        "$100.00/month), above 95% (level 3 of 3)",
    ]


# --- The rule form ---------------------------------------------------------------------------------------
def test_levels_are_ordered_by_the_kinds_direction_and_stored_normalised():
    form = rule_form(AlertKind.LOW_BALANCE, threshold="100", further_levels="$5, 20.00")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["further_levels"] == ["20", "5"]
    form = rule_form(AlertKind.SPENDING_LIMIT, threshold="50", further_levels="100%, 80 95")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["further_levels"] == ["80", "95", "100"]


@pytest.mark.parametrize(
    ("kind", "threshold", "typed", "message"),
    [
        (AlertKind.LOW_BALANCE, "100", "20, 20", "Each level must be different."),
        (AlertKind.LOW_BALANCE, "100", "100", "Each level must differ"),
        (AlertKind.LOW_BALANCE, "100", "200", "More severe levels are lower than the threshold ($100.00)."),
        (AlertKind.SPENDING_LIMIT, "50", "40", "More severe levels are higher than the threshold (50%)."),
        (AlertKind.SPENDING_LIMIT, "50", "150", "150 is out of bounds"),
        (AlertKind.RUNWAY, "14", "7, 5, 3, 2, 1", "At most 5 levels"),
        (AlertKind.RUNWAY, "14", "seven", "“seven” is not a number."),
    ],
)
def test_levels_are_validated(kind, threshold, typed, message):
    form = rule_form(kind, threshold=threshold, further_levels=typed)
    assert not form.is_valid()
    assert form.errors["further_levels"][0].startswith(message), form.errors


def test_kinds_without_levels_have_no_levels_field():
    assert "further_levels" not in rule_form(AlertKind.STALE_DATA).fields


def test_the_rule_page_saves_and_shows_levels_with_their_unit(client, admin_user, account):
    from django.urls import reverse

    from tests.support.alerts import RULE_POST, rule_url
    from tests.support.people_fixtures import login

    login(client, admin_user)
    response = client.post(rule_url(account), {**RULE_POST, "threshold": "100", "further_levels": "5, 20"})
    assert response.status_code == 302
    rule = AlertRule.objects.get(account=account, kind=AlertKind.LOW_BALANCE)
    assert (rule.levels, rule.further_levels) == ([Decimal(100), Decimal(20), Decimal(5)], ["20", "5"])
    page = client.get(rule_url(account)).content.decode()
    assert 'value="20.00, 5.00"' in page and "More severe levels" in page
    listing = client.get(reverse("account_alerts", args=[account.cloudflare_id])).content.decode()
    assert "$100.00 / $20.00 / $5.00" in listing  # every level in its unit (issue 12, rule 3)


def test_the_portal_defaults_come_with_levels(db):
    defaults = {rule.kind: rule.further_levels for rule in AlertRule.objects.filter(account__isnull=True)}
    assert defaults["low_balance"] == ["5", "2"]
    assert defaults["runway"] == ["1"]
    assert defaults["spending_limit"] == ["95", "100"]
    assert defaults["gateway_rule"] == ["95", "100"]


def test_the_history_says_the_most_severe_level_each_alert_reached(client, account, manager):
    from django.urls import reverse

    from tests.support.people_fixtures import login

    three_levels(account)
    walk(account, ["50", "15", "120"])  # opened at level 1, escalated to 2, resolved
    balance_at(account, 10, "60")  # a second episode, still at level 1

    login(client, manager)
    page = client.get(reverse("alert_history")).content.decode()
    assert "Level reached" in page
    assert "below $20.00 (level 2 of 3)" in page
    assert "below $100.00 (level 1 of 3)" in page
    assert "below $5.00" not in page  # never reached
