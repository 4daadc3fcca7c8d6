"""Acknowledging and snoozing an open alert, through the pages and a real SMTP server on loopback: reminders
stop (acknowledged) or wait (snoozed, then resume), a more severe level still tells and ends both, everyone
who can see the account may, and each is audited."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billing.alerts.rules import subscriber_emails
from billing.models import AlertEvent, AuditAction, AuditEntry, ChannelKind
from billing.notifications import channel_admin
from billing.pipeline import evaluate_alerts
from tests.support.alerts import BASE, deliver, only_rule
from tests.support.history import snapshot
from tests.support.people_fixtures import login

STILL_OPEN = "Still open: Low balance: Acme Prod $4.20, threshold $10.00"


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE


@pytest.fixture
def open_alert(account, manager):
    """A low-balance alert opened now, reminded hourly, its opening email sent."""
    only_rule(account, reminder_hours=1)
    snapshot(account, "4.20", auto_topup_amount=None)
    evaluate_alerts(account)
    return AlertEvent.objects.get()


def _url(name: str, event: AlertEvent) -> str:
    return reverse(name, args=[event.account.cloudflare_id, event.pk])


def _evaluate_after(account, hours: float) -> list[str]:
    """Moves the clock `hours` on, evaluates, and returns the actions decided."""
    with time_machine.travel(timezone.now() + timedelta(hours=hours), tick=False):
        return [change.action for change in evaluate_alerts(account)]


def test_a_viewer_acknowledges_and_reminders_stop(client, account, viewer, open_alert, smtp_server):
    login(client, viewer)
    response = client.post(_url("account_alert_acknowledge", open_alert))
    assert response.status_code == 302

    assert _evaluate_after(account, 2) == []
    assert _evaluate_after(account, 30) == []
    deliver()

    assert STILL_OPEN not in smtp_server.subjects()
    event = AlertEvent.objects.get()
    assert event.acknowledged_by == viewer and event.acknowledged_by_name == "vera-viewer"
    page = client.get(reverse("account_alerts", args=[account.cloudflare_id])).content.decode()
    assert (
        f"Acknowledged by vera-viewer at {timezone.localtime(event.acknowledged_at):%Y-%m-%d %H:%M}" in page
    )
    entry = AuditEntry.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert (entry.actor_name, entry.account, entry.parameters["before"]) == ("vera-viewer", account, None)


def test_a_snooze_pauses_reminders_until_its_time_then_they_resume(
    client, account, viewer, open_alert, smtp_server
):
    login(client, viewer)
    until = timezone.localtime() + timedelta(hours=5)
    client.post(_url("account_alert_snooze", open_alert), {"until": until.strftime("%Y-%m-%dT%H:%M")})

    assert _evaluate_after(account, 2) == []
    assert _evaluate_after(account, 4.5) == []
    assert _evaluate_after(account, 5.5) == ["reminded"]
    deliver()

    assert smtp_server.subjects().count(STILL_OPEN) == 1
    entry = AuditEntry.objects.get(action=AuditAction.ALERT_SNOOZED)
    assert entry.parameters["after"] == until.replace(second=0, microsecond=0).isoformat()


def test_a_new_level_still_notifies_when_acknowledged_and_reminders_resume(
    client, account, manager, smtp_server
):
    only_rule(account, threshold="100", hysteresis="10", further_levels=["20"], reminder_hours=1)
    snapshot(account, "50", auto_topup_amount=None)
    evaluate_alerts(account)
    login(client, manager)
    client.post(_url("account_alert_acknowledge", AlertEvent.objects.get()))

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        snapshot(account, "15", auto_topup_amount=None)
        escalated = [change.action for change in evaluate_alerts(account)]
    reminded = _evaluate_after(account, 3.5)
    deliver()

    assert escalated == ["escalated"]
    assert reminded == ["reminded"]
    assert any("level 2 of 2" in subject for subject in smtp_server.subjects())
    assert AlertEvent.objects.get().acknowledged_at is None


def test_snooze_refuses_a_past_or_far_time_with_a_message(client, account, viewer, open_alert):
    login(client, viewer)
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    far = (timezone.localtime() + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    for value, said in ((past, "that one has passed"), (far, "at most 30 days"), ("soon", "Enter a date")):
        response = client.post(_url("account_alert_snooze", open_alert), {"until": value}, follow=True)
        assert response.status_code == 200 and said in response.content.decode()
    assert AlertEvent.objects.get().snoozed_until is None
    assert not AuditEntry.objects.filter(action=AuditAction.ALERT_SNOOZED).exists()


def test_an_outsider_cannot_acknowledge_or_snooze(client, outsider, open_alert):
    login(client, outsider)
    until = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(_url("account_alert_acknowledge", open_alert)).status_code == 404
    assert client.post(_url("account_alert_snooze", open_alert), {"until": until}).status_code == 404
    event = AlertEvent.objects.get()
    assert event.acknowledged_at is None and event.snoozed_until is None


def test_a_resolved_alert_is_not_acknowledged(client, account, viewer, open_alert):
    AlertEvent.objects.filter(pk=open_alert.pk).update(resolved_at=timezone.now())
    login(client, viewer)
    response = client.post(_url("account_alert_acknowledge", open_alert), follow=True)
    assert "resolved or was already acknowledged" in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.ALERT_ACKNOWLEDGED).exists()


def test_a_viewer_subscribes_by_email_and_sees_no_channel_secret(client, account, viewer, open_alert):
    hook = "https://hooks.example.test/services/T000/B000/abcdefsecretpath"
    created = channel_admin.create_channel(
        None, name="Team hook", kind=ChannelKind.WEBHOOK, account=account, url=hook
    )
    open_alert.rule.channels.add(created.channel)
    login(client, viewer)
    url = reverse("account_alert_subscription", args=[account.cloudflare_id])

    assert client.post(url, {"subscribe": "1"}).status_code == 302
    assert subscriber_emails(account) == ["vera-viewer@example.com"]
    page = client.get(reverse("account_alerts", args=[account.cloudflare_id])).content.decode()
    assert "Unsubscribe" in page
    assert created.secret and created.secret not in page and "abcdefsecretpath" not in page
