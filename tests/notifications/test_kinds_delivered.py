"""Every alert kind through every channel: the rule's own email and an email channel over a real SMTP server,
a Slack channel and a webhook over real HTTP receivers, for each state of its alert (opened, a more severe
level where the kind has levels, a reminder, resolved). Each button and fix link is the kind's own page, every
webhook body is valid against docs/webhook-alert-v1.schema.json, and rewording an email's figure label leaves
the webhook body as it was."""

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import time_machine
from django.utils import timezone

from billing.alerts.checks import Reading
from billing.alerts.kinds import KINDS
from billing.models import Account, AlertEvent, AlertKind, ChannelKind, Delivery
from billing.notifications import channel_admin, portal_alerts
from billing.notifications import outbox as mail
from billing.notifications.emails import email_context
from billing.notifications.messages import slack_message, webhook_body
from billing.notifications.notify import alert_message
from billing.pipeline import evaluate_alerts
from tests.support.alert_scenarios import GATEWAY, SCENARIOS
from tests.support.alerts import BASE
from tests.support.http_receiver import Receiver
from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((ROOT / "docs" / "webhook-alert-v1.schema.json").read_text())
DASHBOARD = "https://dash.example.test"
# A fixed moment, mid-day in UTC: the usage days the scenarios write stay the same days while the test runs.
START = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
BUTTON = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.CLOUDFLARE_DASHBOARD_URL = DASHBOARD + "/"
    settings.ALERT_OPERATOR_EMAILS = ["ops@example.com"]


@pytest.fixture
def receivers():
    slack, hook = Receiver().start(), Receiver().start()
    yield slack, hook
    slack.stop()
    hook.stop()


def fix_page(kind: str, account: Account) -> tuple[str, str]:
    """(button words, URL) of the page that fixes each kind, written out here, not read from the registry."""
    pages = f"{BASE}/accounts/{account.cloudflare_id}/"
    return {
        AlertKind.LOW_BALANCE: (f"Top up {account.name}", pages + "topups/new/"),
        AlertKind.RUNWAY: (f"Top up {account.name}", pages + "topups/new/"),
        AlertKind.AUTO_TOPUP_FAILING: (
            "Add a card in the Cloudflare dashboard",
            f"{DASHBOARD}/{account.cloudflare_id}/billing",
        ),
        AlertKind.SPENDING_LIMIT: ("Review the spending limit", pages + "spending-limit/"),
        AlertKind.STALE_DATA: ("Open the account and refresh", pages),
        AlertKind.USAGE_SPIKE: ("See the usage", pages + "usage/"),
        AlertKind.GATEWAY_RULE: (f"Open the rules of {GATEWAY}", pages + f"gateways/{GATEWAY}/rules/"),
        AlertKind.LEDGER_UNBALANCED: (f"Open the ledger of {account.name}", pages + "ledger/"),
        AlertKind.FORECAST_OVER_BUDGET: (f"Review the budget of {account.name}", pages + "budget/"),
    }[kind]


@dataclass
class Delivered:
    account: Account
    actions: list[str]
    emails: list
    slack: list[dict]
    webhooks: list[dict]


def walk(kind: str, receivers, smtp_server) -> Delivered:
    """Opens, raises (kinds with levels), reminds of and resolves one alert of `kind` on a new account whose
    rule sends to an email channel, Slack and a webhook; delivers everything; returns what each received."""
    slack_receiver, hook_receiver = receivers
    scenario = SCENARIOS[kind]
    actions = []
    with time_machine.travel(START, tick=False) as clock:
        account = Account.objects.create(cloudflare_id="e" * 32, name="Acme Prod")
        rule = scenario.rule(account)
        rule.channels.add(
            channel_admin.create_channel(
                None, name="Ops mail", kind=ChannelKind.EMAIL, emails=["ops@x.test"]
            ).channel,
            channel_admin.create_channel(
                None, name="Slack", kind=ChannelKind.SLACK, url=slack_receiver.url
            ).channel,
            channel_admin.create_channel(
                None, name="Hook", kind=ChannelKind.WEBHOOK, url=hook_receiver.url
            ).channel,
        )

        def evaluate() -> None:
            actions.extend(change.action for change in evaluate_alerts(account))

        scenario.open(account)
        evaluate()
        if scenario.escalate is not None:
            scenario.escalate(account)
            evaluate()
        clock.shift(timedelta(minutes=61))  # past the rule's hourly reminder
        evaluate()
        scenario.resolve(account)
        evaluate()
        summary = mail.send_outbox(now=timezone.now() + timedelta(days=1))
    assert summary.failed == summary.retrying == 0
    return Delivered(
        account,
        actions,
        list(smtp_server.messages),
        [json.loads(received.body) for received in slack_receiver.received],
        [json.loads(received.body) for received in hook_receiver.received],
    )


@pytest.mark.parametrize("kind", AlertKind.values)
def test_every_kind_reaches_every_channel_with_its_own_fix_page(kind, receivers, smtp_server):
    delivered = walk(kind, receivers, smtp_server)
    words, url = fix_page(kind, delivered.account)
    states = 4 if SCENARIOS[kind].escalate else 3

    expected = (
        ["opened", "escalated", "reminded", "resolved"] if states == 4 else ["opened", "reminded", "resolved"]
    )
    assert delivered.actions == expected
    # The rule's own email and the email channel's, at each state.
    assert len(delivered.emails) == 2 * states
    for message in delivered.emails:
        html, text = smtp_server.html_of(message), smtp_server.text_of(message)
        assert BUTTON.search(html).groups() == (url, words), message["Subject"]
        assert url in text
    assert len(delivered.slack) == states
    for body in delivered.slack:
        (actions,) = [block for block in body["blocks"] if block["type"] == "actions"]
        button = actions["elements"][0]
        assert (button["url"], button["text"]["text"]) == (url, words)
    assert len(delivered.webhooks) == states
    assert {body["links"]["fix"] for body in delivered.webhooks} == {url}


@pytest.mark.parametrize("kind", AlertKind.values)
def test_every_webhook_body_of_every_kind_and_state_is_valid_v1(kind, receivers, smtp_server):
    delivered = walk(kind, receivers, smtp_server)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    documented = SCHEMA["$defs"]["kinds"][kind]

    for body in delivered.webhooks:
        validator.validate(body)
        # The schema documents every figure the body carries, and the body carries every required one.
        assert set(body["figures"]) <= set(documented["properties"])
        assert set(documented["required"]) <= set(body["figures"])
        assert set(body) <= set(SCHEMA["properties"])
    seen = [(body["state"], body.get("level", {}).get("index")) for body in delivered.webhooks]
    if SCENARIOS[kind].escalate:
        assert seen == [("opened", 1), ("reminder", 2), ("reminder", 2), ("resolved", 2)]
    else:
        assert seen == [("opened", None), ("reminder", None), ("resolved", None)]


def test_the_schema_documents_each_kinds_figures_by_their_stable_keys():
    for name, entry in KINDS.items():
        documented = SCHEMA["$defs"]["kinds"][name]
        assert set(documented["properties"]) == {"value", "level_reached", "data_as_of"} | {
            figure.key for figure in entry.figures
        }
        assert set(documented["properties"]) - set(documented["required"]) == {"level_reached"}
    assert SCHEMA["properties"]["kind"]["enum"] == [*KINDS, "sweeps_stalled", "test"]


def test_a_schema_violation_is_caught():
    body = {"schema": "aigateway-billing.alert/v1", "kind": "low_balance", "state": "escalated"}
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(body))


def test_rewording_an_emails_figure_label_leaves_the_webhook_body_unchanged(monkeypatch):
    with time_machine.travel(START, tick=False):
        account = Account.objects.create(cloudflare_id="e" * 32, name="Acme Prod")
        scenario = SCENARIOS[AlertKind.LOW_BALANCE]
        rule = scenario.rule(account)
        scenario.open(account)
        event = AlertEvent.objects.create(
            account=account, kind=rule.kind, rule=rule, headline="Low balance", opened_at=timezone.now()
        )

        def written() -> tuple[dict, dict, str]:
            reading = Reading(account, timezone.now())
            check = KINDS[AlertKind.LOW_BALANCE].readings(reading, rule)[""]
            context = email_context(reading, rule, check, event)
            message = alert_message("opened", context, event, reading.now)
            return (
                webhook_body(message),
                slack_message(message),
                mail.render_email("alert_opened", context).text,
            )

        body, slack, email = written()
        entry = KINDS[AlertKind.LOW_BALANCE]
        reworded = tuple(
            replace(figure, label="Automatic top-up") if figure.key == "auto_top_up" else figure
            for figure in entry.figures
        )
        monkeypatch.setitem(KINDS, AlertKind.LOW_BALANCE, replace(entry, figures=reworded))
        body_after, slack_after, email_after = written()

    assert "Auto top-up:" in email and "Automatic top-up:" not in email
    assert "Automatic top-up:" in email_after and "Auto top-up:" not in email_after
    assert "*Automatic top-up*" in json.dumps(slack_after) and "*Automatic top-up*" not in json.dumps(slack)
    assert body_after == body
    assert body["figures"]["auto_top_up"] == "Off"


def test_the_watchdogs_and_the_test_messages_bodies_are_valid_v1(settings, receivers):
    settings.SYNC_BALANCE_INTERVAL = 300
    validator = jsonschema.Draft202012Validator(SCHEMA)
    hook = channel_admin.create_channel(
        None, name="Hook", kind=ChannelKind.WEBHOOK, url=receivers[1].url, portal_alerts=True
    ).channel
    with time_machine.travel(START, tick=False):
        Account.objects.create(cloudflare_id="e" * 32, name="Acme Prod")
    with time_machine.travel(START + timedelta(minutes=16), tick=False):
        assert portal_alerts.check_sweeps() == "opened"

    (stalled,) = Delivery.objects.filter(channel=hook).values_list("payload", flat=True)
    tested = webhook_body(channel_admin.sample_message(hook, "sam"))
    for body in (stalled, tested):
        validator.validate(body)
    assert (stalled["kind"], stalled["account"], set(stalled["figures"])) == (
        "sweeps_stalled",
        None,
        {"last_completed_sweep", "expected_every"},
    )
    assert (tested["kind"], tested["state"], tested["figures"]) == ("test", "test", {})
