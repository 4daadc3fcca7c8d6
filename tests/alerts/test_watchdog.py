"""The jobs' watchdog: with the clock moved past 3× SYNC_BALANCE_INTERVAL and no completed sweep, /healthz
degrades, the overview shows a banner, and one portal-wide alert reaches the operators and their channels;
a completed sweep resolves it. The dead man's switch is pinged over real HTTP."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing import tasks
from billing.alerts import watchdog
from billing.models import ChannelKind, Delivery, PortalAlert, SyncOutcome, SyncRun
from billing.notifications import channel_admin, portal_alerts
from billing.notifications import outbox as mail


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.SYNC_BALANCE_INTERVAL = 300
    settings.ALERT_OPERATOR_EMAILS = ["ops@example.com"]


def sweep(account, at):
    return SyncRun.objects.create(
        job="balance", account=account, started_at=at, finished_at=at, outcome=SyncOutcome.SUCCEEDED
    )


def test_healthz_and_overview_are_fine_while_sweeps_complete(client, superuser, account):
    sweep(account, timezone.now())
    client.force_login(superuser)

    assert client.get("/healthz").json()["sweeps"] == "ok"
    assert b"watchdog-banner" not in client.get("/").content
    assert PortalAlert.objects.count() == 0


def test_a_dead_beat_degrades_healthz_shows_a_banner_and_alerts_once(client, superuser, account, receiver):
    last = timezone.now()
    sweep(account, last)
    hook = channel_admin.create_channel(
        None, name="Ops", kind=ChannelKind.WEBHOOK, url=receiver.url, portal_alerts=True
    ).channel
    client.force_login(superuser)

    with time_machine.travel(last + timedelta(seconds=3 * 300 + 1), tick=False):
        health = client.get("/healthz")
        page = client.get("/")
        client.get("/healthz")
        portal_alerts.check_sweeps()

    assert health.status_code == 503
    assert health.json()["status"] == "degraded"
    assert health.json()["sweeps"].startswith("stalled: no balance sweep completed since")
    assert (health.json()["database"], health.json()["broker"]) == ("ok", "ok")
    assert b"Background jobs have stopped." in page.content
    alert = PortalAlert.objects.get()
    assert alert.is_open
    rows = Delivery.objects.filter(portal_alert=alert)
    assert sorted((row.channel_id or 0, row.alert_state) for row in rows) == [
        (0, "opened"),
        (hook.pk, "opened"),
    ]
    assert sorted(rows.get(channel=None).recipients) == ["ops@example.com", superuser.email]


def test_just_under_three_intervals_is_not_stalled(db, account):
    last = timezone.now()
    sweep(account, last)
    assert not watchdog.sweep_status(last + timedelta(seconds=3 * 300 - 1)).stalled
    assert watchdog.sweep_status(last + timedelta(seconds=3 * 300 + 1)).stalled


def test_no_sweep_ever_is_stalled_only_once_an_account_waited_long_enough(db, account):
    assert not watchdog.sweep_status(account.created_at + timedelta(minutes=14)).stalled
    assert watchdog.sweep_status(account.created_at + timedelta(minutes=16)).label == (
        "stalled: no balance sweep has completed yet"
    )


def test_the_outbox_task_opens_sends_and_resolves_the_portal_alert(db, account, receiver):
    last = timezone.now()
    sweep(account, last)
    channel_admin.create_channel(
        None, name="Ops", kind=ChannelKind.WEBHOOK, url=receiver.url, portal_alerts=True
    )

    with time_machine.travel(last + timedelta(minutes=16), tick=False):
        tasks.send_outbox()
        tasks.send_outbox()
    with time_machine.travel(last + timedelta(minutes=20), tick=False):
        sweep(account, timezone.now())
        tasks.send_outbox()

    alert = PortalAlert.objects.get()
    assert alert.resolved_at is not None
    bodies = [json.loads(r.body) for r in receiver.received]
    assert [(b["kind"], b["state"], b["account"]) for b in bodies] == [
        ("sweeps_stalled", "opened", None),
        ("sweeps_stalled", "resolved", None),
    ]
    assert bodies[0]["schema"] == "aigateway-billing.alert/v1"
    assert bodies[0]["headline"].startswith("Background jobs stalled: no balance sweep completed since")
    assert mail.send_outbox().sent == 0


def test_deadman_switch_is_pinged_when_set(db, settings, receiver):
    assert portal_alerts.ping_deadman() is False
    settings.DEADMAN_PING_URL = receiver.url
    assert portal_alerts.ping_deadman() is True
    assert len(receiver.received) == 1


def test_a_stall_that_lasts_is_reminded_of_every_few_hours_once_each(db, account, receiver, settings):
    settings.PORTAL_ALERT_REMINDER_HOURS = 4
    last = timezone.now()
    sweep(account, last)
    channel_admin.create_channel(
        None, name="Ops", kind=ChannelKind.WEBHOOK, url=receiver.url, portal_alerts=True
    )

    for minutes in (16, 60, 4 * 60 + 15, 4 * 60 + 16, 6 * 60, 8 * 60 + 16):
        with time_machine.travel(last + timedelta(minutes=minutes), tick=False):
            tasks.send_outbox()
            portal_alerts.check_sweeps()  # a second process noticing at the same moment
    with time_machine.travel(last + timedelta(minutes=9 * 60), tick=False):
        sweep(account, timezone.now())
        tasks.send_outbox()

    bodies = [json.loads(r.body) for r in receiver.received]
    assert [b["state"] for b in bodies] == ["opened", "reminder", "reminder", "resolved"]
    assert bodies[1]["headline"].startswith("Background jobs still stalled: no balance sweep completed since")
    alert = PortalAlert.objects.get()
    assert (alert.reminders_sent, alert.is_open) == (2, False)
    emails = Delivery.objects.filter(portal_alert=alert, channel=None).order_by("pk")
    assert [(e.alert_state, e.sequence) for e in emails] == [
        ("opened", 0),
        ("reminder", 1),
        ("reminder", 2),
        ("resolved", 0),
    ]
    assert emails[1].subject.startswith("Background jobs still stalled: ")


def test_no_reminders_when_they_are_off(db, account, settings):
    settings.PORTAL_ALERT_REMINDER_HOURS = 0
    last = timezone.now()
    sweep(account, last)
    with time_machine.travel(last + timedelta(minutes=16), tick=False):
        assert portal_alerts.check_sweeps() == "opened"
    with time_machine.travel(last + timedelta(hours=30), tick=False):
        assert portal_alerts.check_sweeps() is None
    assert PortalAlert.objects.get().reminders_sent == 0
