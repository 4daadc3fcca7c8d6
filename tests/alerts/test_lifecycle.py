"""Alert lifecycle, end to end through a real SMTP server on loopback: open, remind, resolve, hysteresis,
no duplicates under concurrent evaluation, and a failed fetch that is never read as a zero balance."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.alerts import checks, rules_for
from billing.models import (
    AlertEvent,
    AlertKind,
    AlertRule,
    Delivery,
)
from billing.pipeline import evaluate_alerts, evaluate_all_alerts
from tests.support.alert_scenarios import ninety_of_a_hundred_spent
from tests.support.alerts import BASE, deliver, only_rule, run_together
from tests.support.history import day_usage, failed_sync, snapshot, utc_midnight


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.ALERT_OPERATOR_EMAILS = ["ops@example.com"]


@pytest.fixture
def low_balance_rule(account, manager):
    return only_rule(account)


def test_low_balance_opens_with_one_actionable_email(account, manager, low_balance_rule, smtp_server):
    snapshot(account, "4.20", auto_topup_amount=None)

    changes = evaluate_alerts(account)
    evaluate_alerts(account)
    deliver()

    assert [(c.kind, c.action, c.emailed) for c in changes] == [("low_balance", "opened", True)]
    assert smtp_server.subjects() == ["Low balance: Acme Prod $4.20, threshold $10.00"]
    assert sorted(smtp_server.recipients()[0]) == ["finance@example.com", "max-manager@example.com"]
    message = smtp_server.messages[0]
    text, html = smtp_server.text_of(message), smtp_server.html_of(message)
    for part in (text, html):
        assert "$4.20" in part
        assert "Spend per day" in part and "Runway" in part and "Auto top-up" in part
        assert f"{BASE}/accounts/{account.cloudflare_id}/" in part
        assert f"{BASE}/accounts/{account.cloudflare_id}/topups/new/" in part
    assert "Auto top-up:    Off" in text  # rule 9: the one wording of the state, "On — …" or "Off"
    assert f'href="{BASE}/accounts/{account.cloudflare_id}/topups/new/"' in html
    event = AlertEvent.objects.get()
    assert event.is_open and event.headline == "Low balance: Acme Prod $4.20, threshold $10.00"


def test_reminder_every_interval_while_open(account, manager, low_balance_rule, smtp_server):
    opened = timezone.now()
    snapshot(account, "4.20", at=opened)
    evaluate_alerts(account, now=opened)

    assert evaluate_alerts(account, now=opened + timedelta(hours=23)) == []
    first = evaluate_alerts(account, now=opened + timedelta(hours=24, minutes=1))
    again = evaluate_alerts(account, now=opened + timedelta(hours=24, minutes=2))
    second = evaluate_alerts(account, now=opened + timedelta(hours=48, minutes=2))
    deliver()

    assert [c.action for c in first + again + second] == ["reminded", "reminded"]
    assert smtp_server.subjects() == [
        "Low balance: Acme Prod $4.20, threshold $10.00",
        "Still open: Low balance: Acme Prod $4.20, threshold $10.00",
        "Still open: Low balance: Acme Prod $4.20, threshold $10.00",
    ]
    assert AlertEvent.objects.get().reminders_sent == 2


def test_no_reminders_when_the_interval_is_zero(account, manager, smtp_server):
    only_rule(account, reminder_hours=0)
    opened = timezone.now()
    snapshot(account, "1", at=opened)
    evaluate_alerts(account, now=opened)
    assert evaluate_alerts(account, now=opened + timedelta(days=10)) == []


def test_resolves_once_past_the_margin_with_one_email(account, manager, low_balance_rule, smtp_server):
    snapshot(account, "4.20")
    evaluate_alerts(account)

    snapshot(account, "12.00")  # above the threshold, inside the $5 margin: still open
    inside = evaluate_alerts(account)
    snapshot(account, "15.00")
    resolved = evaluate_alerts(account)
    after = evaluate_alerts(account)
    deliver()

    assert inside == [] and after == []
    assert [c.action for c in resolved] == ["resolved"]
    assert smtp_server.subjects() == [
        "Low balance: Acme Prod $4.20, threshold $10.00",
        "Resolved: Low balance on Acme Prod, now $15.00",
    ]
    assert "It was: Low balance: Acme Prod $4.20" in smtp_server.text_of(smtp_server.messages[1])
    event = AlertEvent.objects.get()
    assert event.resolved_at is not None
    assert Decimal(event.details["resolved"]["balance"]) == 15


def test_balance_hovering_at_the_threshold_does_not_flap(account, manager, low_balance_rule, smtp_server):
    start = timezone.now()
    for minutes, balance in enumerate(["9.99", "10.01", "9.98", "10.02", "14.99", "9.50", "10.00", "13"]):
        at = start + timedelta(minutes=5 * minutes)
        snapshot(account, balance, at=at)
        evaluate_alerts(account, now=at)
    deliver()

    assert smtp_server.subjects() == ["Low balance: Acme Prod $9.99, threshold $10.00"]
    assert AlertEvent.objects.count() == 1


def test_a_new_alert_opens_after_a_resolution(account, manager, low_balance_rule, smtp_server):
    for balance in ["4", "20", "3"]:
        snapshot(account, balance)
        evaluate_alerts(account)
    deliver()
    assert [e.is_open for e in AlertEvent.objects.order_by("pk")] == [False, True]
    assert len(smtp_server.messages) == 3


def test_the_database_allows_one_open_alert_per_account_and_kind(account):
    now = timezone.now()
    fields = {"account": account, "kind": AlertKind.LOW_BALANCE, "headline": "x", "opened_at": now}
    AlertEvent.objects.create(**fields, resolved_at=now)
    AlertEvent.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertEvent.objects.create(**fields)


@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluation_sends_one_email_per_change(account, manager, smtp_server):
    only_rule(account, reminder_hours=1)
    opened = timezone.now()
    snapshot(account, "4.20", at=opened)

    run_together(3, lambda: evaluate_alerts(account, now=opened))
    run_together(3, lambda: evaluate_alerts(account, now=opened + timedelta(hours=2)))
    snapshot(account, "50", at=opened + timedelta(hours=3))
    run_together(3, lambda: evaluate_alerts(account, now=opened + timedelta(hours=3)))
    run_together(2, deliver)

    # Two drains deliver in either order: compare the set of messages, each exactly once.
    assert sorted(smtp_server.subjects()) == [
        "Low balance: Acme Prod $4.20, threshold $10.00",
        "Resolved: Low balance on Acme Prod, now $50.00",
        "Still open: Low balance: Acme Prod $4.20, threshold $10.00",
    ]
    assert AlertEvent.objects.count() == 1
    assert Delivery.objects.count() == 3


def test_no_snapshot_is_no_balance_not_a_zero_balance(account, manager, low_balance_rule):
    failed_sync(account)
    assert evaluate_alerts(account) == []
    assert not AlertEvent.objects.exists()


def test_a_failed_fetch_keeps_the_last_good_balance(account, manager, low_balance_rule):
    snapshot(account, "500", at=timezone.now() - timedelta(hours=2))
    failed_sync(account)
    assert evaluate_alerts(account) == []


def test_stale_data_mails_the_operators_only(account, manager, superuser, smtp_server):
    only_rule(account, AlertKind.STALE_DATA, threshold="60", hysteresis="0")
    synced = timezone.now() - timedelta(minutes=90)
    snapshot(account, "3", at=synced)
    failed_sync(account)

    changes = evaluate_alerts(account)
    snapshot(account, "3")
    resolved = evaluate_alerts(account)
    deliver()

    assert [c.action for c in changes + resolved] == ["opened", "resolved"]
    assert smtp_server.subjects()[0] == "Stale data: no successful sync for Acme Prod in 90 minutes"
    assert smtp_server.subjects()[1].startswith("Resolved: Stale data on Acme Prod")
    for recipients in smtp_server.recipients():
        assert sorted(recipients) == ["ops@example.com", "sam-super@example.com"]


def test_account_that_never_synced_goes_stale(account, superuser, smtp_server):
    only_rule(account, AlertKind.STALE_DATA, threshold="60", hysteresis="0")
    changes = evaluate_alerts(account, now=timezone.now() + timedelta(hours=2))
    deliver()
    assert [c.action for c in changes] == ["opened"]
    assert smtp_server.subjects() == ["Stale data: Acme Prod has never synced successfully"]


def test_short_runway_opens_from_the_spend_per_day(account, manager, smtp_server):
    only_rule(account, AlertKind.RUNWAY, threshold="3", hysteresis="1")
    for days_ago in range(1, 8):
        day_usage(account, utc_midnight(days_ago), "10")
    snapshot(account, "20")

    changes = evaluate_alerts(account)
    deliver()

    assert [c.action for c in changes] == ["opened"]
    assert smtp_server.subjects() == [
        "Short runway: Acme Prod has 2 days of credit left ($20.00 at $10.00/day), threshold 3 days"
    ]
    text = smtp_server.text_of(smtp_server.messages[0])
    assert "Spend per day:  $10.00" in text and "Runway:         2 days" in text


def test_auto_topup_failure_opens_and_clears(account, manager, smtp_server):
    only_rule(account, AlertKind.AUTO_TOPUP_FAILING, threshold="24", hysteresis="0")
    snapshot(
        account,
        "40",
        auto_topup_amount=Decimal(50),
        auto_topup_threshold=Decimal(20),
        auto_topup_error="card_declined",
    )
    opened = evaluate_alerts(account)
    snapshot(account, "90", auto_topup_amount=Decimal(50), auto_topup_threshold=Decimal(20))
    resolved = evaluate_alerts(account)
    deliver()

    assert [c.action for c in opened + resolved] == ["opened", "resolved"]
    assert smtp_server.subjects()[0] == "Auto top-up failing: Acme Prod (card declined)"  # rule 9: words
    assert "Auto top-up:    On — failing: card declined" in smtp_server.text_of(smtp_server.messages[0])
    assert "Auto top-up:    On — $50.00 below $20.00" in smtp_server.text_of(smtp_server.messages[1])


def test_a_fresh_last_failed_time_alone_opens_an_alert(account, manager):
    only_rule(account, AlertKind.AUTO_TOPUP_FAILING, threshold="24", hysteresis="0")
    snapshot(account, "40", auto_topup_last_failed_at=timezone.now() - timedelta(hours=30))
    assert evaluate_alerts(account) == []
    snapshot(account, "40", auto_topup_last_failed_at=timezone.now() - timedelta(hours=1))
    assert [c.action for c in evaluate_alerts(account)] == ["opened"]


def test_spending_limit_nearly_used(account, manager, smtp_server):
    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    ninety_of_a_hundred_spent(account)

    changes = evaluate_alerts(account)
    deliver()

    assert [c.action for c in changes] == ["opened"]
    # Rules 2 and 10: the state in its words ("nearly used", not yet "exceeded") and the limit itself.
    assert smtp_server.subjects() == [
        "Spending limit nearly used: Acme Prod has used 90% ($90.00 of $100.00/month), alert above 80%"
    ]


def test_usage_spike_against_the_median_of_the_previous_days(account, manager, smtp_server):
    only_rule(account, AlertKind.USAGE_SPIKE, threshold="3", hysteresis="0.5")
    for days_ago in range(1, 15):
        day_usage(account, utc_midnight(days_ago), "10" if days_ago % 2 else "12")
    day_usage(account, utc_midnight(0), "55")
    snapshot(account, "500")

    changes = evaluate_alerts(account)
    deliver()

    assert [c.action for c in changes] == ["opened"]
    today = utc_midnight(0).date()
    assert smtp_server.subjects() == [
        f"Usage spike: Acme Prod spent $55.00 on {today}, 5x the 14-day median $11.00"
    ]


def test_usage_spike_needs_a_baseline(account, manager):
    only_rule(account, AlertKind.USAGE_SPIKE, threshold="3", hysteresis="0.5")
    day_usage(account, utc_midnight(0), "55")
    snapshot(account, "500")
    assert evaluate_alerts(account) == []


def test_account_rule_replaces_the_default_and_can_switch_a_kind_off(account, manager, smtp_server):
    only_rule(None, threshold="10")
    snapshot(account, "4")
    evaluate_alerts(account)
    assert AlertEvent.objects.filter(resolved_at__isnull=True).count() == 1

    own = AlertRule.objects.create(account=account, kind=AlertKind.LOW_BALANCE, threshold=3, enabled=False)
    assert rules_for(account) == {}
    retired = evaluate_alerts(account)
    own.enabled = True
    own.save()
    again = evaluate_alerts(account)  # $4 is not below this account's $3
    deliver()

    assert [(c.action, c.emailed) for c in retired] == [("retired", False)]
    assert again == []
    assert len(smtp_server.messages) == 1


def test_evaluate_all_carries_on_past_a_failing_account(account, other_account, manager, monkeypatch):
    only_rule(None)
    snapshot(account, "1")
    snapshot(other_account, "2")
    # The figures alerts read are the stored ones the pages show (billing.alerts.headlines.facts_for).
    real_facts_for = checks.headlines.facts_for

    def facts_for(accounts, now=None):
        if any(some_account.pk == account.pk for some_account in accounts):
            raise RuntimeError("broken figures")
        return real_facts_for(accounts, now)

    monkeypatch.setattr(checks.headlines, "facts_for", facts_for)

    summary = evaluate_all_alerts()

    assert (summary.accounts, summary.failed_accounts) == (2, [account.cloudflare_id])
    assert list(AlertEvent.objects.values_list("account", flat=True)) == [other_account.pk]


def test_beat_task_names_are_registered():
    from portal.celery import app

    app.loader.import_default_modules()
    assert {"billing.tasks.evaluate_alerts", "billing.tasks.send_outbox"} <= set(app.tasks)
