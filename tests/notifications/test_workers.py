"""Proof with real processes: two Celery workers and two `celery beat` processes, both beats sending the
alert evaluation and the outbox drain every second, deliver each message of a three-level alert once per
channel: to a real webhook receiver (counted per X-Billing-Delivery id) and to a real SMTP server."""

import json
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import AlertEvent, ChannelKind, Delivery, DeliveryState
from billing.notifications import channel_admin
from tests.support.alerts import only_rule
from tests.support.clock import wait_for
from tests.support.history import snapshot

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUIET = dict.fromkeys(
    ("SYNC_BALANCE_INTERVAL", "SYNC_USAGE_INTERVAL", "SYNC_INVOICES_INTERVAL", "SYNC_TOPUPS_INTERVAL"), "3600"
)


ROUNDS = ("billing.tasks.evaluate_alerts", "billing.tasks.send_outbox")  # each beat sends both every second


def states(receiver) -> list[tuple[str, int | None]]:
    bodies = [json.loads(r.body) for r in receiver.received]
    return sorted((b["state"], (b.get("level") or {}).get("index")) for b in bodies)


def test_two_workers_and_two_beats_deliver_each_level_message_once(
    celery_worker_on_redis, receiver, smtp_server, account
):
    rule = only_rule(
        account,
        threshold="100",
        hysteresis="10",
        further_levels=["20", "5"],
        reminder_hours=0,
        notify_managers=False,
    )
    hook = channel_admin.create_channel(None, name="Hook", kind=ChannelKind.WEBHOOK, url=receiver.url)
    rule.channels.add(hook.channel)
    env = {
        **QUIET,
        "RETENTION_INTERVAL": "86400",
        "DIGEST_INTERVAL": "3600",
        "ALERTS_INTERVAL": "1",
        "OUTBOX_INTERVAL": "1",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "ALERT_HTTP_CONNECT_TIMEOUT": "2",
        "ALERT_HTTP_READ_TIMEOUT": "2",
    }
    snapshot(account, "50")
    celery_worker_on_redis(env)
    celery_worker_on_redis(env)
    beats = [celery_worker_on_redis.beat(env), celery_worker_on_redis.beat(env)]

    wait_for(lambda: len(receiver.received) >= 1, timeout=120, message="the opening webhook")
    snapshot(account, "15", at=timezone.now() + timedelta(seconds=1))
    wait_for(lambda: len(receiver.received) >= 2, timeout=120, message="the level 2 webhook")
    snapshot(account, "120", at=timezone.now() + timedelta(seconds=1))
    wait_for(lambda: len(receiver.received) >= 3, timeout=120, message="the resolution webhook")
    sent = Delivery.objects.filter(state=DeliveryState.SENT)
    wait_for(lambda: sent.count() >= 6, timeout=120, message="six deliveries sent")
    # A few more rounds of both beats (counted, not timed): nothing more may arrive.
    before = celery_worker_on_redis.taken()
    wait_for(
        lambda: all(celery_worker_on_redis.taken()[task] >= before[task] + 4 for task in ROUNDS),
        timeout=120,
        message="four more rounds of evaluation and delivery",
    )
    for beat in beats:
        beat.terminate()

    per_delivery = Counter(r.headers["X-Billing-Delivery"] for r in receiver.received)
    assert len(per_delivery) == 3 and set(per_delivery.values()) == {1}
    assert states(receiver) == [("opened", 1), ("reminder", 2), ("resolved", 2)]
    alert_mail = [m for m in smtp_server.messages if "Acme Prod" in str(m["Subject"])]
    assert Counter(m["X-Portal-Outbox-Id"] for m in alert_mail).most_common(1)[0][1] == 1
    assert sorted(str(m["Subject"])[:22] for m in alert_mail) == [
        "Low balance: Acme Prod",
        "Now below $20.00 (leve",
        "Resolved: Low balance ",
    ]
    event = AlertEvent.objects.get()
    # The figure as a value: PostgreSQL gives the stored six places ("120.000000"), SQLite "120".
    resolved_balance = Decimal(event.details["resolved"]["balance"])
    assert (event.level, event.is_open, resolved_balance) == (2, False, Decimal(120))
