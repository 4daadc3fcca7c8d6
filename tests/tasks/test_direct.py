"""The Celery tasks called directly (in this process), and the alert tasks through a real worker and SMTP."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing import tasks
from billing.clients import client_for
from billing.models import (
    Account,
    AlertEvent,
    AlertKind,
    AlertRule,
    BalanceSnapshot,
    Delivery,
    SyncOutcome,
    SyncRun,
    TopUp,
    TopUpStatus,
)
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from portal.celery import app
from tests.support.clock import wait_for

pytestmark = pytest.mark.django_db


def demo_accounts(cloudflare) -> list[Account]:
    cloudflare.reset("demo")
    return [Account.objects.create(cloudflare_id=cf_id, name=name) for cf_id, name in DEMO_ACCOUNTS]


def test_sync_chunk_called_directly_snapshots_each_account(cloudflare):
    accounts = demo_accounts(cloudflare)

    result = tasks.sync_chunk.apply(args=("balance", [a.pk for a in accounts])).get()

    assert result["succeeded"] == len(accounts) and result["failed"] == 0
    assert BalanceSnapshot.objects.filter(account__in=accounts).count() == len(accounts)


def test_a_sweep_fans_out_chunks_that_cover_every_account(cloudflare, eager_tasks, settings):
    settings.SYNC_CHUNK_SIZE = 3
    accounts = demo_accounts(cloudflare)

    chunks = tasks.sweep_balances.apply().get()

    assert chunks == 2  # four accounts, three per chunk
    synced = SyncRun.objects.filter(job="balance", outcome=SyncOutcome.SUCCEEDED)
    assert set(synced.values_list("account_id", flat=True)) == {a.pk for a in accounts}


def test_poll_pending_topups_called_directly_completes_a_topup(cloudflare):
    [account, *_] = demo_accounts(cloudflare)
    created = client_for(account).topup.create(account_id=account.cloudflare_id, amount=2500)
    topup = TopUp.objects.create(
        account=account,
        amount_cents=2500,
        payment_intent_id=created.payment_intent_id,
        status=TopUpStatus.PENDING,
        requested_at=timezone.now(),
        next_check_at=timezone.now(),
    )
    cloudflare.advance(10)  # past the sandbox's top-up delay

    assert tasks.poll_pending_topups.apply().get() >= 1

    topup.refresh_from_db()
    assert topup.status == TopUpStatus.COMPLETED


def low_balance(account: Account) -> None:
    now = timezone.now()
    AlertRule.objects.all().delete()
    AlertRule.objects.create(
        account=account,
        kind=AlertKind.LOW_BALANCE,
        threshold=Decimal("10"),
        hysteresis=Decimal("5"),
        recipients=["finance@example.com"],
    )
    SyncRun.objects.create(
        job="balance", account=account, started_at=now, finished_at=now, outcome="succeeded"
    )
    BalanceSnapshot.objects.create(account=account, taken_at=now, balance=Decimal("4.20"))


def test_alert_tasks_called_directly_open_and_mail(account, smtp_server):
    low_balance(account)

    tasks.evaluate_alerts.apply().get()
    tasks.send_outbox.apply().get()

    assert AlertEvent.objects.filter(account=account, resolved_at__isnull=True).count() == 1
    assert smtp_server.subjects() == ["Low balance: Acme Prod $4.20, threshold $10.00"]


@pytest.mark.worker
def test_alert_tasks_on_a_real_worker_mail_through_real_smtp(celery_worker_on_redis, smtp_server, account):
    low_balance(account)
    worker = celery_worker_on_redis({"EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}"})

    worker.send_task("billing.tasks.evaluate_alerts").get(timeout=120)
    worker.send_task("billing.tasks.send_outbox").get(timeout=120)
    wait_for(smtp_server.subjects, timeout=120, message="the alert email at the SMTP server")

    assert smtp_server.subjects() == ["Low balance: Acme Prod $4.20, threshold $10.00"]
    assert Delivery.objects.get().state == "sent"


def test_renamed_tasks_keep_the_names_queued_messages_carry():
    # The Python names say a task's role; the registered names are what beat and queued messages send.
    assert tasks.sweep_balances.name == "billing.tasks.sync_balances"
    assert tasks.sweep_usage.name == "billing.tasks.sync_usage"
    assert tasks.sweep_invoices.name == "billing.tasks.sync_invoices"
    assert app.tasks["billing.tasks.sync_usage"].run.__name__ == "sweep_usage"
    registered = {name for name in app.tasks if name.startswith("billing.tasks.")}
    assert registered == {
        "billing.tasks.sync_balances",
        "billing.tasks.sync_usage",
        "billing.tasks.sync_invoices",
        "billing.tasks.sync_all",
        "billing.tasks.sync_chunk",
        "billing.tasks.sync_account",
        "billing.tasks.follow_topup",
        "billing.tasks.poll_pending_topups",
        "billing.tasks.settle_write",
        "billing.tasks.apply_retention",
        "billing.tasks.evaluate_alerts",
        "billing.tasks.send_outbox",
        "billing.tasks.send_digests",
    }
