"""The words of alerts and of figures (rules 1, 2, 9, 10): one formatter per quantity in billing.display, the
exceeded state of a spending limit, reason codes and card brands in words, and each email's one button."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import display
from billing.alerts import headlines, text
from billing.models import Account, AlertEvent, AlertKind, AutoTopUpConfig
from billing.notifications.outbox import render_email
from billing.pipeline import evaluate_alerts
from tests.support.alert_scenarios import limited
from tests.support.alerts import BASE, deliver, only_rule
from tests.support.history import day_usage, snapshot, utc_midnight

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.CLOUDFLARE_DASHBOARD_URL = "https://dash.example.test/"


# --- rule 1: one formatter per quantity --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "words"),
    [
        (Decimal("1.9354"), "1.9 days"),  # $4.20 at $2.17/day: never "1 day"
        (Decimal("1"), "1 day"),
        (Decimal("9.99"), "9.9 days"),
        (Decimal("18.6"), "18 days"),
        (Decimal("0.4"), "0.4 days"),
        (Decimal("0.04"), "under 0.1 days"),
        (Decimal("0"), "0 days"),
        (Decimal("-3"), "0 days"),
        (Decimal("1200"), "999+ days"),
        (None, "–"),
    ],
)
def test_a_runway_reads_the_same_wherever_it_is_shown(value, words):
    assert display.days(value) == words


def test_thresholds_and_quantities_keep_their_decimals_and_separators():
    assert display.day_count(Decimal("1.5")) == "1.5 days"
    assert display.day_count(Decimal("1")) == "1 day"
    assert display.quantity(Decimal("15401797")) == "15,401,797"
    assert display.quantity(Decimal("2.500000")) == "2.5"


@pytest.mark.parametrize(
    ("used", "words"),
    [
        (Decimal("99.6"), "99%"),
        (Decimal("100"), "100%"),
        (Decimal("100.4"), "over 100%"),  # never "100%, above 100%"
        (Decimal("101.7"), "101%"),
        (Decimal("80.000000"), "80%"),
    ],
)
def test_a_share_used_is_rounded_down_so_100_percent_means_reached(used, words):
    assert display.percent(used) == words


def test_a_threshold_reads_as_it_was_set():
    assert display.threshold_percent(Decimal("80.000000")) == "80%"
    assert display.threshold_percent(Decimal("99.5")) == "99.5%"


# --- rule 9: words for people, not codes -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("no_payment_method", "no card on file"),
        ("card_declined", "card declined"),
        ("insufficient_funds", "insufficient funds on the card"),
        ("something_new_happened", "something new happened"),
    ],
)
def test_auto_topup_reasons_are_sentences(code, words):
    assert display.auto_topup_reason(code) == words


@pytest.mark.parametrize(
    ("brand", "name"),
    [("visa", "Visa"), ("mastercard", "Mastercard"), ("amex", "American Express"), ("", "Card")],
)
def test_card_brands_are_proper_names(brand, name):
    assert display.card_brand(brand) == name


def test_credit_types_are_words():
    assert display.credit_type("credit_balance_transaction") == "prepaid credit"


def test_auto_topup_state_says_on_or_off():
    failing = display.auto_topup_state(Decimal(50), Decimal(20), "", "no_payment_method")
    assert failing == "On — failing: no card on file"
    assert display.auto_topup_state(None, None) == "Off"
    assert display.auto_topup_state(Decimal(50), Decimal(20)) == "On — $50.00 below $20.00"


# --- rule 2: exceeded is its own, more urgent state --------------------------------------------------------
def test_an_exceeded_limit_has_its_own_label_colour_and_subject(account, manager, smtp_server):
    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    limited(account)
    for days_ago in (2, 3, 4):
        day_usage(account, utc_midnight(days_ago), "42")
    snapshot(account, "500")

    evaluate_alerts(account)
    deliver()

    event = AlertEvent.objects.get()
    figures = headlines.facts_for([account])[account.pk].figures
    assert text.label(event.kind, figures) == "Spending limit exceeded"
    assert text.severity(event.kind, figures) == "bad"
    assert smtp_server.subjects() == [
        "Spending limit exceeded: Acme Prod has used 126% ($126.00 of $100.00/month)"
    ]


def test_nearly_used_then_exceeded_sends_one_email_saying_exceeded(account, manager, smtp_server):
    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    limited(account)
    for days_ago in (2, 3, 4):
        day_usage(account, utc_midnight(days_ago), "30")
    snapshot(account, "500")
    evaluate_alerts(account)
    day_usage(account, utc_midnight(5), "30")

    changes = evaluate_alerts(account)
    again = evaluate_alerts(account)
    deliver()

    assert [c.action for c in changes] == ["escalated"] and again == []
    assert [s.split(":")[0] for s in smtp_server.subjects()] == [
        "Spending limit nearly used",
        "Spending limit exceeded",
    ]
    assert AlertEvent.objects.get().headline.startswith("Spending limit exceeded: Acme Prod has used 120%")


def test_resolution_email_updates_last_emailed(account, manager, smtp_server):
    only_rule(account)
    opened = timezone.now() - timedelta(hours=2)
    snapshot(account, "4.20", at=opened)
    evaluate_alerts(account, now=opened)
    snapshot(account, "90")
    now = timezone.now()

    evaluate_alerts(account, now=now)

    event = AlertEvent.objects.get()
    assert event.resolved_at == now and event.last_notified_at == now


# --- rule 10: emails point to the fix -----------------------------------------------------------------------
def test_spending_limit_email_shows_the_limit_and_links_to_the_limit_page(account, manager, smtp_server):
    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    limited(account)
    for days_ago in (2, 3, 4):
        day_usage(account, utc_midnight(days_ago), "30")
    snapshot(account, "500")

    evaluate_alerts(account)
    deliver()

    message = smtp_server.messages[0]
    body, html = smtp_server.text_of(message), smtp_server.html_of(message)
    print(body)
    assert "Spending limit: $100.00/month" in body and "Spent this window: $90.00" in body
    assert "Used:           90%" in body
    assert f"Review the spending limit: {BASE}/accounts/{account.cloudflare_id}/spending-limit/" in body
    assert f'href="{BASE}/accounts/{account.cloudflare_id}/spending-limit/"' in html
    assert "Top up Acme Prod" not in html


def test_auto_topup_email_links_to_the_dashboard_billing_page(account, manager, smtp_server):
    only_rule(account, AlertKind.AUTO_TOPUP_FAILING, threshold="24", hysteresis="0")
    snapshot(
        account,
        "40",
        auto_topup_amount=Decimal(50),
        auto_topup_threshold=Decimal(20),
        auto_topup_disabled_reason="no_payment_method",
    )

    evaluate_alerts(account)
    deliver()

    message = smtp_server.messages[0]
    body = smtp_server.text_of(message)
    print(body)
    assert smtp_server.subjects() == ["Auto top-up failing: Acme Prod (no card on file)"]
    assert "Auto top-up:    On — failing: no card on file" in body
    dashboard = f"https://dash.example.test/{account.cloudflare_id}/billing"
    assert f"Add a card in the Cloudflare dashboard: {dashboard}" in body
    assert f'href="{dashboard}"' in smtp_server.html_of(message)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (AlertKind.LOW_BALANCE, "topups/new/"),
        (AlertKind.RUNWAY, "topups/new/"),
        (AlertKind.STALE_DATA, ""),
        (AlertKind.USAGE_SPIKE, "usage/"),
    ],
)
def test_each_kind_has_one_button_to_the_page_that_fixes_it(account, kind, path):
    from billing.alerts.kinds import KINDS

    label, url = KINDS[kind].fix.link(account)
    assert url == f"{BASE}/accounts/{account.cloudflare_id}/{path}"
    assert label


def test_live_headline_of_an_open_alert_follows_todays_figures(account):
    rule = only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    limited(account, "100")
    for days_ago in (2, 3, 4):
        day_usage(account, utc_midnight(days_ago), "30")
    snapshot(account, "500")
    evaluate_alerts(account)
    event = AlertEvent.objects.get()
    limited(account, "50")  # the limit was lowered: $90 is now 180 %

    facts = headlines.facts_for([Account.objects.get(pk=account.pk)])  # as a page reads it, fresh
    shown = text.shown([event], facts)[0]

    assert shown.headline == "Spending limit exceeded: Acme Prod has used 180% ($90.00 of $50.00/month)"
    assert shown.label == "Spending limit exceeded" and shown.severity == "bad"
    assert rule.threshold == 80


def test_an_auto_topup_config_without_a_card_renders_on_and_failing():
    from django.template.loader import render_to_string

    config = AutoTopUpConfig(amount=Decimal(50), threshold=Decimal(20), disabled_reason="no_payment_method")
    html = render_to_string("billing/_auto_topup_state.html", {"config": config})
    assert "<strong>On</strong> — " in html and "failing: no card on file" in html
    assert "Add a card in the Cloudflare dashboard" in html
    assert "Off" in render_to_string("billing/_auto_topup_state.html", {"config": None})


def test_render_email_of_the_resolution_reads_as_words(account):
    from billing.alerts.checks import Reading
    from billing.notifications.emails import email_context

    rule = only_rule(account)
    snapshot(account, "90")
    reading = Reading(account, timezone.now())
    event = AlertEvent(
        account=account, kind="low_balance", headline="Low balance: x", opened_at=timezone.now()
    )
    event.resolved_at = timezone.now()
    check = (
        __import__("billing.alerts.kinds", fromlist=["KINDS"])
        .KINDS[AlertKind.LOW_BALANCE]
        .readings(reading, rule)[""]
    )
    rendered = render_email("alert_resolved", email_context(reading, rule, check, event))
    print(rendered.text)
    assert rendered.subject == "Resolved: Low balance on Acme Prod, now $90.00"
    assert "Top up Acme Prod:" in rendered.text
