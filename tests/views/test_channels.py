"""Channel pages: superusers create channels (a webhook's secret shown once, URLs never again in full), send
a test, rotate the secret; rules choose channels; managers subscribe themselves; the outbox lists every
channel's deliveries with retry."""

import json

import pytest
from django.urls import reverse

from billing.alerts.rules import recipients_for
from billing.models import (
    AlertKind,
    AlertRule,
    AlertSubscription,
    AuditEntry,
    ChannelKind,
    Delivery,
    DeliveryState,
    NotificationChannel,
)
from billing.notifications import channel_admin
from billing.notifications import outbox as mail
from tests.support.alerts import RULE_POST, rule_url
from tests.support.http_receiver import Answer
from tests.support.people_fixtures import confirmed_again, login


def create_webhook(client, receiver, **extra):
    return client.post(
        reverse("alert_channels"), {"name": "Ops hook", "kind": "webhook", "url": receiver.url, **extra}
    )


def test_a_webhook_secret_is_shown_once_and_the_url_never_again(client, superuser, receiver):
    confirmed_again(login(client, superuser))

    created = create_webhook(client, receiver)

    channel = NotificationChannel.objects.get()
    page = created.content.decode()
    secret = page.split('id="signing-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    assert receiver.url not in page
    for url in (reverse("alert_channels"), reverse("alert_channel", args=[channel.pk])):
        shown = client.get(url).content.decode()
        assert secret not in shown and "s3cr3tPathXYZ1" not in shown
        assert "127.0.0.1 …XYZ1" in shown
    entry = AuditEntry.objects.get()
    assert entry.parameters["change"] == "created"
    assert secret not in json.dumps(entry.parameters) and receiver.url not in json.dumps(entry.parameters)


def test_channel_form_needs_the_right_destination(client, superuser):
    confirmed_again(login(client, superuser))
    no_url = client.post(reverse("alert_channels"), {"name": "S", "kind": "slack"})
    bad_url = client.post(reverse("alert_channels"), {"name": "S", "kind": "slack", "url": "ftp://x"})
    no_emails = client.post(reverse("alert_channels"), {"name": "E", "kind": "email"})

    assert "needs its URL" in no_url.content.decode()
    assert "http:// or https://" in bad_url.content.decode()
    assert "needs its URL" not in bad_url.content.decode()  # one message for a URL that was given
    assert "at least one address" in no_emails.content.decode()
    assert NotificationChannel.objects.count() == 0


@pytest.mark.parametrize("person", ["manager", "admin_user", "viewer"])
def test_only_superusers_manage_channels(client, person, request):
    login(client, request.getfixturevalue(person))
    assert client.get(reverse("alert_channels")).status_code == 404


def test_send_test_and_rotation_from_the_channel_page(client, superuser, receiver):
    confirmed_again(login(client, superuser))
    create_webhook(client, receiver)
    channel = NotificationChannel.objects.get()
    receiver.script = [Answer(410, "gone")]

    refused = client.post(reverse("alert_channel_action", args=[channel.pk, "test"]), follow=True)
    delivered = client.post(reverse("alert_channel_action", args=[channel.pk, "test"]), follow=True)
    rotated = client.post(reverse("alert_channel_action", args=[channel.pk, "rotate"]))
    during = client.get(reverse("alert_channel", args=[channel.pk])).content.decode()
    client.post(reverse("alert_channel_action", args=[channel.pk, "finish-rotation"]))

    assert "Test message refused: TransportError: HTTP 410 Gone: gone" in refused.content.decode()
    assert "Test message delivered" in delivered.content.decode()
    assert 'id="signing-secret">whsec_' in rotated.content.decode()
    assert "signed with the new and the old secret" in during
    channel.refresh_from_db()
    assert not channel.rotating
    changes = list(AuditEntry.objects.order_by("pk").values_list("parameters__change", flat=True))
    assert changes == ["created", "secret rotation started", "secret rotation finished"]


def test_a_rule_chooses_its_channels_and_an_account_adds_its_own(client, account, other_account, admin_user):
    portal = channel_admin.create_channel(
        None, name="Portal Slack", kind=ChannelKind.SLACK, url="https://h.example/a"
    )
    team = channel_admin.create_channel(
        None, name="Team Slack", kind=ChannelKind.SLACK, url="https://h.example/b", account=account
    )
    channel_admin.create_channel(
        None, name="Other team", kind=ChannelKind.SLACK, url="https://h.example/c", account=other_account
    )
    default = AlertRule.objects.filter(account__isnull=True, kind=AlertKind.LOW_BALANCE).first()
    default.channels.add(portal.channel)
    login(client, admin_user)

    page = client.get(rule_url(account)).content.decode()
    client.post(rule_url(account), {**RULE_POST, "channels": [portal.channel.pk, team.channel.pk]})

    assert "Team Slack" in page and "Other team" not in page
    assert f'value="{portal.channel.pk}" selected' in page
    rule = AlertRule.objects.get(account=account, kind=AlertKind.LOW_BALANCE)
    assert set(rule.channels.all()) == {portal.channel, team.channel}
    assert AuditEntry.objects.get(action="alert_rule.change").parameters["channels"] == [
        "Portal Slack",
        "Team Slack",
    ]


def test_a_manager_subscribes_and_unsubscribes(client, account, manager):
    login(client, manager)
    rule = AlertRule.objects.filter(account__isnull=True, kind=AlertKind.LOW_BALANCE).first()
    rule.notify_managers = False
    rule.save()

    client.post(reverse("account_alert_subscription", args=[account.cloudflare_id]), {"subscribe": "1"})
    assert manager.email in recipients_for(rule, account)
    assert (
        "Unsubscribe" in client.get(reverse("account_alerts", args=[account.cloudflare_id])).content.decode()
    )

    client.post(reverse("account_alert_subscription", args=[account.cloudflare_id]), {"subscribe": "0"})
    assert manager.email not in recipients_for(rule, account)
    assert AlertSubscription.objects.count() == 0


def test_only_people_who_see_the_account_subscribe(client, account, viewer, outsider):
    # Viewers subscribe themselves by email (issue 23); someone without the account gets its 404.
    url = reverse("account_alert_subscription", args=[account.cloudflare_id])
    assert login(client, outsider).post(url, {"subscribe": "1"}).status_code == 404
    assert AlertSubscription.objects.count() == 0
    assert login(client, viewer).post(url, {"subscribe": "1"}).status_code == 302
    assert list(AlertSubscription.objects.values_list("user__username", flat=True)) == ["vera-viewer"]


def test_outbox_lists_every_channels_deliveries_with_retry(client, superuser, receiver):
    hook = channel_admin.create_channel(
        None, name="Ops hook", kind=ChannelKind.WEBHOOK, url=receiver.url
    ).channel
    row = mail.queue_message(hook, {"n": 1}, "A webhook message", template="webhook")
    receiver.script = [Answer(400, "bad payload")]
    mail.send_outbox()
    confirmed_again(login(client, superuser))

    page = client.get(reverse("alert_outbox")).content.decode()
    client.post(reverse("alert_outbox_retry", args=[row.pk]))

    assert "Ops hook (Webhook)" in page and "127.0.0.1 …XYZ1" in page
    assert "HTTP 400 Bad Request: bad payload" in page
    assert reverse("alert_outbox_retry", args=[row.pk]) in page
    assert mail.send_outbox().sent == 1
    assert Delivery.objects.get(pk=row.pk).state == DeliveryState.SENT


def test_removing_a_channel_asks_first(client, superuser):
    confirmed_again(login(client, superuser))
    client.post(reverse("alert_channels"), {"name": "Finance", "kind": "email", "emails": "fin@example.test"})
    channel = NotificationChannel.objects.get(name="Finance")
    delete = reverse("alert_channel_action", args=[channel.pk, "delete"])

    unconfirmed = client.post(delete)
    asked = client.get(unconfirmed["Location"]).content.decode()
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()
    assert "Remove “Finance”?" in asked and 'name="confirm" value="yes"' in asked

    client.post(delete, {"confirm": "yes"})
    assert not NotificationChannel.objects.filter(pk=channel.pk).exists()
