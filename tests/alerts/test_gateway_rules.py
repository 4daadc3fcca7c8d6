"""The gateway rule alert: one per rule above its threshold (the sandbox's demo Labs rule is exceeded), mailed
through a real SMTP server, resolved when the rule's use drops, retired when the rule goes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.clients import client_for
from billing.forms.gateway_rules import GatewayRuleForm
from billing.models import Account, AccountAccess, AlertEvent, AlertKind, AlertRule, GatewayRule, Role
from billing.pipeline import evaluate_alerts
from billing.sync.gateways import store_gateway
from tests.support.alerts import deliver

pytestmark = pytest.mark.django_db

LABS = "3c59dc048e8850243be8079a5c74d079"


@pytest.fixture
def labs(cloudflare, make_user):
    """Labs from the sandbox's demo seed, its gateways stored and each rule's window read from the sandbox."""
    cloudflare.reset("demo")
    account = Account.objects.create(cloudflare_id=LABS, name="Labs")
    AccountAccess.objects.create(user=make_user("lena-manager"), account=account, role=Role.MANAGER)
    for gateway in client_for(account).ai_gateway.list(account_id=LABS):
        store_gateway(account, gateway)
    for gateway in cloudflare.spend_limits(LABS)["gateways"]:
        for figures in gateway["rules"]:
            rule = GatewayRule.objects.get(gateway__gateway_id=gateway["id"], rule_id=figures["id"])
            spend = Decimal(str(figures["window_spend"]))
            rule.window_spend = spend
            rule.used_percent = (spend * 100 / rule.limit).quantize(Decimal("0.1"))
            rule.state = "exceeded" if figures["reached"] else "ok"
            rule.save()
    return account


def test_the_default_rule_exists():
    rule = AlertRule.objects.get(account=None, kind=AlertKind.GATEWAY_RULE)
    assert rule.threshold == 80 and rule.hysteresis == 5 and rule.enabled


def test_an_exceeded_rule_opens_one_alert_with_an_email_naming_the_rule(labs, smtp_server):
    changes = evaluate_alerts(labs)
    assert [(c.kind, c.action) for c in changes] == [(AlertKind.GATEWAY_RULE, "opened")]
    event = AlertEvent.objects.get()
    assert event.subject == "experiments/sonnet-daily"
    assert deliver().sent == 1
    (subject,) = smtp_server.subjects()
    assert subject.startswith("Gateway rule exceeded: Labs / experiments sonnet-daily has spent $")
    text = smtp_server.text_of(smtp_server.messages[0])
    for words in (
        "experiments",
        "sonnet-daily: $2.00 per 1 day",
        "sliding window",
        "claude-sonnet-4",
        "Frees up:       gradually, as spend turns 1 day old",  # a sliding window has no reset time
    ):
        assert words in text
    html = smtp_server.html_of(smtp_server.messages[0])
    assert html.count("<a href=") == 1 and f"/accounts/{LABS}/gateways/experiments/rules/" in html
    assert smtp_server.recipients() == [["lena-manager@example.com"]]
    # Evaluated again: still one event, no new email.
    assert evaluate_alerts(labs) == []
    assert AlertEvent.objects.count() == 1


def test_one_event_per_rule_and_resolution_when_the_use_drops(labs, smtp_server):
    experiments = GatewayRule.objects.get(rule_id="sonnet-daily").gateway
    GatewayRule.objects.create(
        gateway=experiments,
        position=1,
        rule_id="gemini",
        limit=Decimal(10),
        window_seconds=3600,
        window_spend=Decimal("9"),
        used_percent=Decimal(90),
        state="nearly_used",
    )
    evaluate_alerts(labs)
    assert sorted(AlertEvent.objects.open().values_list("subject", flat=True)) == [
        "experiments/gemini",
        "experiments/sonnet-daily",
    ]
    GatewayRule.objects.filter(rule_id="sonnet-daily").update(used_percent=Decimal(40), state="ok")
    changes = evaluate_alerts(labs)
    assert [(c.action) for c in changes] == ["resolved"]
    assert list(AlertEvent.objects.open().values_list("subject", flat=True)) == ["experiments/gemini"]
    deliver()
    assert smtp_server.subjects()[-1].startswith("Resolved: gateway rule experiments sonnet-daily on Labs")
    # A rule that is gone ends its alert quietly.
    GatewayRule.objects.filter(rule_id="gemini").delete()
    assert [c.action for c in evaluate_alerts(labs)] == ["retired"]
    assert not AlertEvent.objects.open().exists()


def test_hovering_at_the_threshold_does_not_flap(labs):
    rule = GatewayRule.objects.get(rule_id="sonnet-daily")
    for percent, open_after in (("85", 1), ("78", 1), ("76", 1), ("75", 0), ("81", 1)):
        GatewayRule.objects.filter(pk=rule.pk).update(used_percent=Decimal(percent))
        evaluate_alerts(labs)
        assert AlertEvent.objects.open().count() == open_after, percent


def test_budget_errors_name_the_field_and_the_rule(settings):
    settings.GATEWAY_RULE_MAX_DOLLARS = Decimal(1000)
    shown = GatewayRuleForm.shown_initial(timezone.now())
    base = {**{k: str(v) for k, v in shown.items()}, "window": "3600", "technique": "fixed"}
    for limit, message in (
        ("0", "Budget of rule chat-weekly must be at least $0.01."),
        ("1000.01", "Budget of rule chat-weekly must be at most $1,000.00."),
        ("1.234", "Budget of rule chat-weekly can have at most 2 decimal places (whole cents)."),
        ("", "Enter the budget of rule chat-weekly, in US dollars."),
    ):
        form = GatewayRuleForm({**base, "limit": limit}, rule_name="rule chat-weekly")
        assert not form.is_valid()
        assert form.errors["limit"] == [message]
    form = GatewayRuleForm(
        {**base, "limit": "$1,000", "window": "custom", "window_number": "90", "window_unit": "minutes"}
    )
    assert form.is_valid(), form.errors
    assert form.rule_fields()["limit"] == Decimal("1000.00") and form.rule_fields()["window_seconds"] == 5400
    form = GatewayRuleForm({**base, "limit": "5", "window": "custom"})
    assert not form.is_valid() and "Custom window of the new rule" in form.errors["window_number"][0]


def test_an_exceeded_rule_reads_exceeded_and_red_and_a_nearly_used_one_amber(db):

    from django.utils import timezone

    from billing.alerts import text
    from billing.models import Account, AlertEvent, AlertKind, Gateway, GatewayRule, RuleState

    account = Account.objects.create(cloudflare_id="c" * 32, name="Labs")
    gateway = Gateway.objects.create(account=account, gateway_id="experiments", synced_at=timezone.now())
    near = GatewayRule.objects.create(
        gateway=gateway, position=0, rule_id="near", limit=10, window_seconds=3600
    )
    over = GatewayRule.objects.create(
        gateway=gateway, position=1, rule_id="over", limit=2, window_seconds=86400
    )
    GatewayRule.objects.filter(pk=near.pk).update(state=RuleState.NEARLY_USED)
    GatewayRule.objects.filter(pk=over.pk).update(state=RuleState.EXCEEDED)
    opened = timezone.now() - timedelta(hours=1)
    events = [
        AlertEvent.objects.create(
            account=account, kind=AlertKind.GATEWAY_RULE, subject=subject, headline="h", opened_at=opened
        )
        for subject in ("experiments/near", "experiments/over")
    ]

    shown = {row.event.subject: row for row in text.shown(events, {})}

    assert (shown["experiments/over"].label, shown["experiments/over"].severity) == (
        "Gateway rule exceeded",
        "bad",
    )
    assert shown["experiments/near"].severity == "warn"
    assert shown["experiments/near"].label != "Gateway rule exceeded"


def test_a_rule_just_short_of_its_budget_never_reads_100_percent(labs):
    GatewayRule.objects.filter(rule_id="sonnet-daily").update(
        window_spend=Decimal("1.992"), used_percent=Decimal("99.6"), state="nearly_used"
    )

    evaluate_alerts(labs)

    headline = AlertEvent.objects.open().get(subject="experiments/sonnet-daily").headline
    assert headline.startswith("Gateway rule nearly used: Labs / experiments sonnet-daily")
    assert "(99%)" in headline and "100%)" not in headline
