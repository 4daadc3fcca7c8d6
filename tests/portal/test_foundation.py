"""The project's skeleton: settings, log-in everywhere, the health check, Celery wiring."""

import pytest
from django.urls import reverse

from tests.support.people_fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_requires_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302


def test_login_page_is_styled_and_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"portal.css" in response.content
    assert b'name="username"' in response.content


def test_login_then_overview(client, viewer):
    response = client.post(reverse("login"), {"username": viewer.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_login_is_throttled_after_repeated_failures(client, viewer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        response = client.post(reverse("login"), {"username": viewer.username, "password": "wrong"})
        assert response.status_code == 200
    # The failure that reaches the limit is already answered with the lock-out.
    response = client.post(reverse("login"), {"username": viewer.username, "password": "wrong"})
    assert response.status_code == 429
    # Even the right password is refused while the username is locked.
    response = client.post(reverse("login"), {"username": viewer.username, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content


def test_logout_needs_post_and_ends_session(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "sweeps": "ok"}


def test_healthz_is_503_when_broker_is_down(client, monkeypatch):
    from portal.celery import app

    saved = app.conf.broker_url
    # Celery reads this environment variable before its configuration; nothing listens on port 1.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = saved
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["broker"].startswith("error")
    assert body["database"] == "ok"


def test_beat_schedule_intervals_come_from_settings(settings):
    from portal.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["sync-balances"]["schedule"].run_every.total_seconds() == settings.SYNC_BALANCE_INTERVAL
    assert {entry["task"] for entry in schedule.values()} >= {
        "billing.tasks.sync_balances",
        "billing.tasks.sync_usage",
        "billing.tasks.sync_invoices",
        "billing.tasks.poll_pending_topups",
    }


@pytest.mark.worker
def test_ping_task_runs_on_a_real_worker(celery_worker_on_redis):
    app = celery_worker_on_redis()
    result = app.send_task("portal.ping")
    assert result.get(timeout=30) == "pong"
