"""Migration 0015 renames the outbox's model OutboxEmail to Delivery and keeps its rows: run forward on a
database that has deliveries (and a digest pointing at one), on whichever database the suite uses (SQLite
here, PostgreSQL in CI)."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from billing.models import Delivery, DeliveryState, DigestRun

BEFORE = ("billing", "0014_portal_alert_reminders")


def migrate(target: list[tuple[str, str]]):
    """Migrates the test database to `target`; returns the historical apps there."""
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def at_0014(transactional_db):
    apps = migrate([BEFORE])
    yield apps
    migrate(latest())


def test_deliveries_keep_their_rows_and_references_through_the_rename(at_0014, django_user_model):
    apps = at_0014
    account = apps.get_model("billing", "Account").objects.create(cloudflare_id="a" * 32, name="Acme Prod")
    event = apps.get_model("billing", "AlertEvent").objects.create(
        account=account, kind="low_balance", headline="Low balance", opened_at=timezone.now()
    )
    outbox = apps.get_model("billing", "OutboxEmail")
    now = timezone.now()
    sent = outbox.objects.create(
        template="alert_opened",
        account=account,
        event=event,
        alert_state="opened",
        subject="Low balance: Acme Prod $4.20",
        text="…",
        recipients=["finance@example.com"],
        state="sent",
        next_attempt_at=now,
        sent_at=now,
    )
    ready = outbox.objects.create(
        template="digest",
        subject="Your daily digest",
        text="…",
        recipients=["max@example.com"],
        next_attempt_at=now,
    )
    user = apps.get_model("auth", "User").objects.create(username="max", email="max@example.com")
    apps.get_model("billing", "DigestRun").objects.create(
        user=user, period_kind="daily", period_start=date(2026, 11, 30), email=ready
    )

    migrate(latest())

    rows = {row.pk: row for row in Delivery.objects.all()}
    assert sorted(rows) == sorted([sent.pk, ready.pk])
    assert (rows[sent.pk].state, rows[sent.pk].event_id, rows[sent.pk].account_id) == (
        DeliveryState.SENT,
        event.pk,
        account.pk,
    )
    assert rows[sent.pk].recipients == ["finance@example.com"]
    assert rows[ready.pk].subject == "Your daily digest"
    assert DigestRun.objects.get().email_id == ready.pk
    # New rows take ids after the old ones: the table's sequence came along.
    newer = Delivery.objects.create(template="test_email", subject="Test", text="…", next_attempt_at=now)
    assert newer.pk > max(rows)
    assert "billing_outboxemail" not in connection.introspection.table_names()
