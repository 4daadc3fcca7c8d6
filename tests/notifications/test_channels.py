"""Slack and webhook deliveries over real HTTP on loopback: retries with backoff, timeouts, permanent
refusals, Retry-After, one delivery per (alert, channel, state) under concurrent workers, and webhook
signatures checked by an independent implementation of the README's description (rotation included)."""

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import ChannelKind, Delivery, DeliveryState, NotificationChannel
from billing.notifications import channel_admin
from billing.notifications import outbox as mail
from billing.pipeline import evaluate_alerts
from tests.support.alerts import BASE, only_rule
from tests.support.history import snapshot
from tests.support.http_receiver import Answer
from tests.support.paths import ROOT

TOLERANCE = 300  # seconds, as the README's receiver


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.ALERT_OPERATOR_EMAILS = ["ops@example.com"]
    settings.ALERT_HTTP_CONNECT_TIMEOUT = 2
    settings.ALERT_HTTP_READ_TIMEOUT = 2


def webhook(receiver, superuser=None, name="Ops webhook", **extra) -> tuple[NotificationChannel, str]:
    created = channel_admin.create_channel(
        superuser, name=name, kind=ChannelKind.WEBHOOK, url=receiver.url, **extra
    )
    return created.channel, created.secret


def slack(receiver, name="Team Slack") -> NotificationChannel:
    return channel_admin.create_channel(None, name=name, kind=ChannelKind.SLACK, url=receiver.url).channel


def queue(channel, payload=None) -> Delivery:
    return mail.queue_message(channel, payload or {"hello": "world"}, "hello", template=channel.kind)


def later(**delta):
    return timezone.now() + timedelta(**delta)


# --- The receiver's side, written from the README (not the portal's signer) -----------------------------
def verify(header: str, body: bytes, secret: str, now: float | None = None) -> bool:
    parts = [item.split("=", 1) for item in header.split(",")]
    timestamps = [value for key, value in parts if key == "t"]
    signatures = [value for key, value in parts if key == "v1"]
    if len(timestamps) != 1 or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def signature_of(received) -> str:
    return received.headers["X-Billing-Signature"]


# --- Retries, timeouts, permanent refusals --------------------------------------------------------------
def test_500_twice_then_200_is_delivered_once_after_three_attempts(db, receiver):
    channel, _ = webhook(receiver)
    row = queue(channel)
    receiver.script = [Answer(500, "boom"), Answer(503, "busy")]

    now = timezone.now()
    for _ in range(4):
        mail.send_outbox(now=now)
        row.refresh_from_db()
        now = row.next_attempt_at + timedelta(seconds=1)
    mail.send_outbox(now=later(days=3))

    assert (row.state, row.attempts, row.last_error) == (DeliveryState.SENT, 3, "")
    assert len(receiver.received) == 3
    assert {r.headers["X-Billing-Delivery"] for r in receiver.received} == {str(row.pk)}


def test_a_stalled_receiver_times_out_and_is_retried_not_lost(db, receiver, settings):
    settings.ALERT_HTTP_READ_TIMEOUT = 0.3
    channel, _ = webhook(receiver)
    row = queue(channel)
    receiver.script = [Answer(stall=True)]

    first = mail.send_outbox()
    row.refresh_from_db()
    assert (first.retrying, row.state) == (1, DeliveryState.READY)
    assert "timed out" in row.last_error
    receiver.release.set()

    assert mail.send_outbox(now=later(minutes=5)).sent == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.SENT, 2)
    # The stalled attempt may have reached the receiver: the delivery id lets it drop the repeat.
    assert {r.headers["X-Billing-Delivery"] for r in receiver.received} == {str(row.pk)}


def test_410_fails_at_once_with_the_reason_and_is_not_retried(db, receiver):
    channel, _ = webhook(receiver)
    row = queue(channel)
    receiver.script = [Answer(410, "this hook was removed")]

    summary = mail.send_outbox()
    mail.send_outbox(now=later(days=2))

    row.refresh_from_db()
    assert summary.failed == 1
    assert (row.state, row.attempts) == (DeliveryState.FAILED, 1)
    assert row.last_error == "TransportError: HTTP 410 Gone: this hook was removed"
    assert len(receiver.received) == 1


def test_429_is_retried_after_the_receivers_retry_after(db, receiver):
    channel, _ = webhook(receiver)
    row = queue(channel)
    receiver.script = [Answer(429, "slow down", headers={"Retry-After": "900"})]
    now = timezone.now()

    mail.send_outbox(now=now)

    row.refresh_from_db()
    assert row.state == DeliveryState.READY
    assert row.next_attempt_at >= now + timedelta(seconds=900)
    assert mail.send_outbox(now=now + timedelta(minutes=10)).sent == 0
    assert mail.send_outbox(now=now + timedelta(minutes=16)).sent == 1


def test_a_receiver_down_for_an_hour_gets_the_message_when_it_comes_back(db, receiver):
    channel, _ = webhook(receiver)
    row = queue(channel)
    receiver.script = [Answer(503, "down")] * 100
    start = now = timezone.now()
    while now - start < timedelta(hours=1, minutes=30):
        mail.send_outbox(now=now)
        row.refresh_from_db()
        assert row.state == DeliveryState.READY
        now = row.next_attempt_at
    receiver.script = []

    assert mail.send_outbox(now=now).sent == 1
    assert mail.retry_delay(mail.MAX_ATTEMPTS) == mail.LONGEST_RETRY
    span = sum((mail.retry_delay(n) for n in range(1, mail.MAX_ATTEMPTS)), timedelta())
    assert span > timedelta(days=1)


def test_errors_never_carry_the_url(db, caplog):
    channel = channel_admin.create_channel(
        None, name="Gone", kind=ChannelKind.WEBHOOK, url="http://127.0.0.1:1/hook?token=SECRETTOKEN"
    ).channel
    row = queue(channel)

    with caplog.at_level(logging.DEBUG):
        mail.send_outbox()

    row.refresh_from_db()
    assert "connection failed" in row.last_error
    assert "SECRETTOKEN" not in row.last_error and "/hook" not in row.last_error
    assert "SECRETTOKEN" not in caplog.text


def test_urls_and_secrets_are_stored_encrypted(db, receiver):
    channel, secret = webhook(receiver)
    channel.refresh_from_db()

    assert secret.startswith("whsec_")
    stored = " ".join(
        str(value) for value in NotificationChannel.objects.filter(pk=channel.pk).values().get().values()
    )
    assert secret not in stored
    assert "s3cr3tPathXYZ1" not in stored
    assert channel.url_hint == "127.0.0.1 …XYZ1"


def test_one_delivery_per_alert_channel_and_state(db, account, receiver):
    snapshot(account, "4.20")
    rule = only_rule(account)
    channel, _ = webhook(receiver)
    rule.channels.add(channel)
    evaluate_alerts(account)
    row = Delivery.objects.get(channel=channel)

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            channel=channel,
            event=row.event,
            alert_state="opened",
            subject="again",
            text="",
            next_attempt_at=later(),
        )


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_deliver_each_message_once(receiver):
    channel = channel_admin.create_channel(
        None, name="Hook", kind=ChannelKind.WEBHOOK, url=receiver.url
    ).channel
    rows = [queue(channel, {"n": n}) for n in range(12)]
    start = threading.Barrier(2)
    errors = []

    def drain():
        try:
            start.wait(timeout=10)
            mail.send_outbox()
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=drain) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    bodies = sorted(json.loads(r.body)["n"] for r in receiver.received)
    assert bodies == list(range(12))
    assert Delivery.objects.filter(pk__in=[r.pk for r in rows], state=DeliveryState.SENT).count() == 12


# --- What an alert looks like on Slack and on a webhook ---------------------------------------------------
def test_a_low_balance_alert_reaches_email_slack_and_webhook(db, account, manager, smtp_server, receiver):
    snapshot(account, "4.20")
    rule = only_rule(account)
    hook, secret = webhook(receiver)
    team = slack(receiver)
    rule.channels.add(hook, team)

    evaluate_alerts(account)
    evaluate_alerts(account)
    summary = mail.send_outbox()

    assert summary.sent == 3
    assert len(smtp_server.messages) == 1
    by_kind = {("signature" if "X-Billing-Signature" in r.headers else "slack"): r for r in receiver.received}
    body = json.loads(by_kind["signature"].body)
    assert body["schema"] == "aigateway-billing.alert/v1"
    assert body["event_id"].startswith("alert:")
    assert (body["kind"], body["state"]) == ("low_balance", "opened")
    assert body["account"] == {"id": account.cloudflare_id, "name": account.name}
    assert body["headline"] == "Low balance: Acme Prod $4.20, threshold $10.00"
    assert body["figures"]["balance"] == "$4.20"
    assert body["links"]["fix"] == f"{BASE}/accounts/{account.cloudflare_id}/topups/new/"
    assert verify(signature_of(by_kind["signature"]), by_kind["signature"].body, secret)
    message = json.loads(by_kind["slack"].body)
    assert message["text"] == body["headline"]
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["header", "section", "section", "actions", "context"]
    button = message["blocks"][3]["elements"][0]
    assert (button["text"]["text"], button["url"]) == ("Top up Acme Prod", body["links"]["fix"])


def test_resolving_sends_a_resolved_message(db, account, receiver):
    snapshot(account, "4.20")
    rule = only_rule(account, notify_managers=False, recipients=[])
    hook, _ = webhook(receiver)
    rule.channels.add(hook)
    evaluate_alerts(account)
    snapshot(account, "50", at=later(minutes=1))
    evaluate_alerts(account, now=later(minutes=1))
    mail.send_outbox()

    states = [json.loads(r.body)["state"] for r in receiver.received]
    assert sorted(states) == ["opened", "resolved"]


# --- Signatures and their rotation -------------------------------------------------------------------------
def test_signature_rejects_a_stale_timestamp_and_a_wrong_secret(db, receiver):
    channel, secret = webhook(receiver)
    with time_machine.travel(timezone.now() - timedelta(minutes=6), tick=False):
        queue(channel)
        mail.send_outbox()
    queue(channel)
    mail.send_outbox(now=later(minutes=1))

    stale, fresh = receiver.received
    assert not verify(signature_of(stale), stale.body, secret)
    assert verify(signature_of(fresh), fresh.body, secret)
    assert not verify(signature_of(fresh), fresh.body, "whsec_not-the-secret")
    assert not verify(signature_of(fresh), fresh.body + b" ", secret)


def test_rotation_signs_with_both_secrets_until_finished(db, receiver, superuser):
    channel, old = webhook(receiver, superuser)
    new = channel_admin.rotate_secret(superuser, channel)
    queue(channel)
    mail.send_outbox()
    during = receiver.received[-1]

    assert signature_of(during).count("v1=") == 2
    assert verify(signature_of(during), during.body, old)
    assert verify(signature_of(during), during.body, new)

    assert channel_admin.finish_rotation(superuser, channel)
    queue(channel)
    mail.send_outbox(now=later(minutes=1))
    after = receiver.received[-1]
    assert signature_of(after).count("v1=") == 1
    assert verify(signature_of(after), after.body, new)
    assert not verify(signature_of(after), after.body, old)


def test_send_test_reports_what_happened(db, receiver):
    channel, secret = webhook(receiver)
    receiver.script = [Answer(404, "no such hook")]

    failed = channel_admin.send_test(channel, "tester")
    worked = channel_admin.send_test(channel, "tester")

    assert failed.state == DeliveryState.FAILED and "404" in failed.last_error
    assert worked.state == DeliveryState.SENT
    body = json.loads(receiver.received[-1].body)
    assert (body["kind"], body["state"]) == ("test", "test")
    assert verify(signature_of(receiver.received[-1]), receiver.received[-1].body, secret)


def test_the_readme_receiver_accepts_a_real_delivery_and_rejects_a_stale_one(db, receiver):
    readme = (ROOT / "README.md").read_text()
    example = readme.split("```python\nimport hashlib", 1)[1].split("```", 1)[0]
    example = "import hashlib" + example.replace("HTTPServer((", "# HTTPServer((")
    namespace: dict = {}
    channel, secret = webhook(receiver)
    exec(example.replace('["whsec_…"]', repr([secret])), namespace)  # noqa: S102 (the README's own code)
    queue(channel)
    mail.send_outbox()
    delivered = receiver.received[-1]

    assert namespace["verify"](signature_of(delivered), delivered.body)
    assert not namespace["verify"](signature_of(delivered), delivered.body, now=time.time() + 301)
