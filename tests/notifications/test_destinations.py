"""Slack and webhook channels send to the public internet only (production's default): a private address is
refused when the channel is saved, with the rule and the setting named, and again at delivery, where it fails
for good with its reason, without a byte reaching the receiver; ALERT_ALLOW_PRIVATE_URLS lets them through."""

import socket

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


# Issue 22, finding 1: the host judged is the host connected to.
SMUGGLED = [
    "http://127.0.0.1:{port}\\@1.1.1.1/pd",  # urlsplit reads 1.1.1.1, requests connects to 127.0.0.1
    "http://1.1.1.1@127.0.0.1:{port}/pd",  # user-info before the host
    "http://user:pass@127.0.0.1:{port}/pd",
]
# Each IPv6 form that carries an IPv4 address, here 127.0.0.1.
CARRYING_LOOPBACK = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "64:ff9b::7f00:1",  # NAT64, well-known prefix
    "64:ff9b:1:7f00:0:100::",  # NAT64, local-use /48 (RFC 8215)
    "2002:7f00:1::",  # 6to4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("address", CARRYING_LOOPBACK)
def test_an_ipv6_address_carrying_loopback_is_judged_by_it(address):
    with pytest.raises(destinations.PrivateDestination):
        destinations.check(f"http://[{address}]:8080/hook")


@pytest.mark.parametrize(
    "address", ["::1.1.1.1", "64:ff9b::101:101", "2002:101:101::", "2001:0:4136:e378:8000:63bf:fefe:fefe"]
)
def test_an_ipv6_address_carrying_a_public_address_passes(address):
    destinations.check(f"http://[{address}]/hook")


@pytest.mark.parametrize("template", SMUGGLED)
def test_the_channel_form_refuses_backslashes_and_user_info_even_where_private_is_allowed(
    client, superuser, settings, template
):
    settings.ALERT_ALLOW_PRIVATE_URLS = True
    confirmed_again(login(client, superuser))
    page = client.post(
        reverse("alert_channels"), {"name": "Smuggled", "kind": "webhook", "url": template.format(port=9)}
    ).content.decode()

    assert "Enter the URL without tricks" in page
    assert NotificationChannel.objects.count() == 0


def _queued_to(url: str):
    channel = channel_admin.create_channel(None, name="Stored", kind=ChannelKind.WEBHOOK, url=url).channel
    return mail.queue_message(channel, {"hello": "world"}, "hello", template=channel.kind)


@pytest.mark.parametrize("template", SMUGGLED)
def test_a_stored_smuggling_url_is_never_delivered(db, receiver, public_only, template):
    port = receiver.server.server_port
    row = _queued_to(template.format(port=port))

    mail.send_outbox()

    row.refresh_from_db()
    assert row.state == DeliveryState.FAILED
    assert "not sent:" in row.last_error
    assert receiver.received == []


@pytest.mark.parametrize("address", CARRYING_LOOPBACK)
def test_a_delivery_to_an_ipv6_form_of_loopback_sends_nothing(db, receiver, public_only, address):
    row = _queued_to(f"http://[{address}]:{receiver.server.server_port}/hook")

    mail.send_outbox()

    row.refresh_from_db()
    assert row.state == DeliveryState.FAILED
    assert "which is not a public internet address" in row.last_error
    assert receiver.received == []


class RebindingResolver:
    """A name whose first answer is the receiver and whose later answers point elsewhere (DNS rebinding)."""

    def __init__(self, real, name: str, answers: list[str]):
        self.real, self.name, self.answers, self.asked = real, name, answers, 0

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        address = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return self.real(address, port, *args, **kwargs)


def test_the_name_is_resolved_once_and_the_connection_goes_to_that_address(
    db, receiver, settings, monkeypatch
):
    settings.ALERT_ALLOW_PRIVATE_URLS = True
    resolver = RebindingResolver(socket.getaddrinfo, "hooks.rebind.test", ["127.0.0.1", "10.255.255.1"])
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = receiver.server.server_port
    row = _queued_to(f"http://hooks.rebind.test:{port}/hook")

    assert mail.send_outbox().sent == 1

    assert resolver.asked == 1
    assert [hit.headers["Host"] for hit in receiver.received] == [f"hooks.rebind.test:{port}"]
    row.refresh_from_db()
    assert row.state == DeliveryState.SENT


def test_a_name_that_resolves_to_loopback_at_the_connect_is_refused_there(
    db, receiver, public_only, monkeypatch
):
    resolver = RebindingResolver(socket.getaddrinfo, "hooks.rebind.test", ["127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    row = _queued_to(f"http://hooks.rebind.test:{receiver.server.server_port}/hook")

    mail.send_outbox()

    row.refresh_from_db()
    assert row.state == DeliveryState.FAILED
    assert "the host hooks.rebind.test is at 127.0.0.1" in row.last_error
    assert receiver.received == []
