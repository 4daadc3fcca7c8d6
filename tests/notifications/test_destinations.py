"""Slack and webhook channels send to the public internet only (production's default): a private address is
refused when the channel is saved, with the rule and the setting named, and again at delivery, where it fails
for good with its reason, without a byte reaching the receiver; ALERT_ALLOW_PRIVATE_URLS lets them through."""

import pytest
from django.urls import reverse

from billing.models import ChannelKind, DeliveryState, NotificationChannel
from billing.notifications import channel_admin, destinations
from billing.notifications import outbox as mail
from tests.support.people_fixtures import confirmed_again, login


@pytest.fixture
def public_only(settings):
    settings.ALERT_ALLOW_PRIVATE_URLS = False


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:9/hook", "127.0.0.1"),
        ("http://localhost/hook", None),  # resolves to loopback (127.0.0.1 or ::1)
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # a cloud's metadata service
        ("https://10.1.2.3/hook", "10.1.2.3"),
        ("https://192.168.0.10/hook", "192.168.0.10"),
        ("https://172.16.5.4/hook", "172.16.5.4"),
        ("https://100.64.0.1/hook", "100.64.0.1"),  # carrier-grade NAT
        ("https://[::1]/hook", "::1"),
        ("https://[fd00::1]/hook", "fd00::1"),
        ("https://[::ffff:10.0.0.1]/hook", "::ffff:a00:1"),  # IPv4 mapped into IPv6
        ("https://0.0.0.0/hook", "0.0.0.0"),  # noqa: S104 (a URL under test, not a bind address)
    ],
)
def test_private_addresses_are_refused(url, address):
    with pytest.raises(destinations.PrivateDestination) as refused:
        destinations.check(url)
    assert "not a public internet address" in str(refused.value)
    if address:
        assert address in str(refused.value)


def test_public_addresses_pass():
    destinations.check("https://93.184.215.14/hook")
    destinations.check("https://[2606:4700:4700::1111]/hook")


def test_a_name_that_does_not_resolve_is_told_apart():
    with pytest.raises(destinations.UnresolvableHost):
        destinations.check("https://no-such-host.invalid/hook")


def test_the_channel_form_refuses_a_private_url_naming_the_rule_and_the_setting(
    client, superuser, public_only
):
    confirmed_again(login(client, superuser))
    page = client.post(
        reverse("alert_channels"),
        {"name": "Metadata", "kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/"},
    ).content.decode()

    assert "Alerts are sent only to public internet addresses" in page
    assert "169.254.169.254, which is not a public internet address" in page
    assert "ALERT_ALLOW_PRIVATE_URLS" in page
    assert "/latest/meta-data/" not in page  # the URL is not echoed back in full
    assert NotificationChannel.objects.count() == 0


def test_the_channel_form_accepts_a_host_that_does_not_resolve_yet(client, superuser, public_only):
    confirmed_again(login(client, superuser))
    client.post(
        reverse("alert_channels"),
        {"name": "Later", "kind": "webhook", "url": "https://hooks.example.invalid/x"},
    )
    assert NotificationChannel.objects.get().name == "Later"


def test_a_delivery_to_a_private_address_fails_for_good_and_sends_nothing(db, receiver, settings):
    channel = channel_admin.create_channel(
        None, name="Inside", kind=ChannelKind.WEBHOOK, url=receiver.url
    ).channel  # saved while private URLs were allowed, or by a name that moved since
    row = mail.queue_message(channel, {"hello": "world"}, "hello", template=channel.kind)
    settings.ALERT_ALLOW_PRIVATE_URLS = False

    summary = mail.send_outbox()

    row.refresh_from_db()
    assert summary.failed == 1
    assert (row.state, row.attempts) == (DeliveryState.FAILED, 1)
    assert "not sent: the host 127.0.0.1 is at 127.0.0.1" in row.last_error
    assert "ALERT_ALLOW_PRIVATE_URLS" in row.last_error
    assert receiver.url not in row.last_error
    assert receiver.received == []


def test_a_delivery_whose_host_does_not_resolve_is_tried_again(db, public_only):
    channel = channel_admin.create_channel(
        None, name="Later", kind=ChannelKind.WEBHOOK, url="https://hooks.example.invalid/x"
    ).channel
    row = mail.queue_message(channel, {"hello": "world"}, "hello", template=channel.kind)

    mail.send_outbox()

    row.refresh_from_db()
    assert row.state == DeliveryState.READY
    assert "could not be resolved" in row.last_error


def test_allowing_private_urls_lets_a_loopback_receiver_get_it(db, receiver, settings):
    settings.ALERT_ALLOW_PRIVATE_URLS = True
    channel = channel_admin.create_channel(
        None, name="Inside", kind=ChannelKind.WEBHOOK, url=receiver.url
    ).channel
    mail.queue_message(channel, {"hello": "world"}, "hello", template=channel.kind)

    assert mail.send_outbox().sent == 1
    assert len(receiver.received) == 1
