"""The web never waits on Cloudflare: a slow Cloudflare cannot hold a web worker past its deadline.

A latency fault makes a sandbox stay silent for far longer than the web deadline. These tests use a sandbox
of their own (`own_cloudflare`), so the answers it sends late (after the test) never reach another test's
request log.
"""

import re
import time

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from billing.cloudflare import BillingClient, OutcomeUnknownError
from billing.models import AuditEntry, SyncRun, TopUp, TopUpStatus
from tests.support.history import snapshot
from tests.support.paths import ROOT

SILENCE_MS = 30_000  # far past any deadline below: Cloudflare "hangs"


def test_topup_confirm_answers_within_the_web_deadline_while_cloudflare_is_silent(
    client, manager, account, own_cloudflare, settings
):
    settings.CLOUDFLARE_WEB_TIMEOUT = 0.5
    snapshot(account, "50")
    client.force_login(manager)
    html = client.post(reverse("topup_new", args=[account.cloudflare_id]), {"amount": "25"}).content.decode()
    fields = dict(re.findall(r'name="(amount_cents|intent_key)" value="([^"]+)"', html))
    own_cloudflare.add_fault(method="POST", path_contains="/topup", latency_ms=SILENCE_MS)

    started = time.monotonic()
    response = client.post(reverse("topup_confirm", args=[account.cloudflare_id]), fields)
    elapsed = time.monotonic() - started

    assert elapsed < 0.5 + 2  # the deadline, plus the page's own work; never the 30 s silence
    topup = TopUp.objects.get()
    assert topup.status == TopUpStatus.UNKNOWN  # asked once, never re-sent
    page = client.get(response["Location"]).content.decode()
    assert "We don't know yet whether this top-up went through." in page
    assert AuditEntry.objects.get().outcome == "unknown"


def test_refresh_now_returns_at_once_while_cloudflare_is_slow(
    client, manager, account, own_cloudflare, django_capture_on_commit_callbacks
):
    own_cloudflare.add_fault(latency_ms=SILENCE_MS, count=None)
    client.force_login(manager)

    started = time.monotonic()
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("refresh", args=[account.cloudflare_id]))
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert response.status_code == 302
    assert len(queued) == 1  # the sync, sent to a worker once the request's transaction commits
    run = SyncRun.objects.get(job="refresh")
    assert run.outcome == "queued"  # the request holds no sync lock: nothing is "running"
    assert not SyncRun.objects.filter(outcome="running").exists()
    assert own_cloudflare.requests() == []  # and it asked Cloudflare nothing
    page = client.get(response["Location"]).content.decode()
    assert "Refresh queued" in page and 'data-reload-after="3"' in page


def test_a_deadline_call_is_one_attempt_and_ends_in_outcome_unknown(own_cloudflare, account):
    own_cloudflare.add_fault(method="POST", path_contains="/topup", latency_ms=SILENCE_MS)
    client = BillingClient(
        own_cloudflare.token, base_url=django_settings.CLOUDFLARE_API_BASE_URL, max_retries=5
    )
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError):
        client.topup.create(account_id=account.cloudflare_id, amount=2500, deadline=0.3)
    assert time.monotonic() - started < 2
    client.close()


def _gunicorn_timeout() -> int:
    readme = (ROOT / "README.md").read_text()
    return int(re.search(r"gunicorn portal\.wsgi .*--timeout (\d+)", readme).group(1))


def test_the_web_deadline_fits_well_inside_the_gunicorn_timeout_of_the_readme():
    # The one call a request makes may take the connect timeout plus the web deadline, never more.
    worst = django_settings.CLOUDFLARE_CONNECT_TIMEOUT + django_settings.CLOUDFLARE_WEB_TIMEOUT
    assert worst <= _gunicorn_timeout() / 2
    readme = (ROOT / "README.md").read_text()
    assert f"`CLOUDFLARE_WEB_TIMEOUT` | `{django_settings.CLOUDFLARE_WEB_TIMEOUT:g}`" in readme


def test_the_topup_submit_uses_the_stored_limits_and_calls_nothing(client, manager, account, own_cloudflare):
    snapshot(account, "50")
    client.force_login(manager)
    response = client.post(reverse("topup_new", args=[account.cloudflare_id]), {"amount": "25"})
    assert response.status_code == 200
    assert own_cloudflare.requests() == []


def test_a_refresh_the_broker_refuses_says_so_at_once(
    client, manager, account, own_cloudflare, monkeypatch, django_capture_on_commit_callbacks
):
    from celery.canvas import Signature

    def broker_down(self, *args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(Signature, "delay", broker_down)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("refresh", args=[account.cloudflare_id]))
    assert response.status_code == 302
    assert SyncRun.objects.get(job="refresh").outcome == "failed"
    assert "could not be queued" in client.get(response["Location"]).content.decode()


def test_the_calls_of_one_request_share_one_deadline_and_a_spent_one_sends_nothing(own_cloudflare, account):
    from billing.cloudflare import APITimeoutError, deadline_scope

    own_cloudflare.add_fault(method="GET", path_contains="/credit-balance", latency_ms=SILENCE_MS)
    client = BillingClient(
        own_cloudflare.token, base_url=django_settings.CLOUDFLARE_API_BASE_URL, max_retries=5
    )
    started = time.monotonic()
    with deadline_scope(0.4):
        with pytest.raises(APITimeoutError):
            client.credit_balance(account_id=account.cloudflare_id)  # one attempt, never the five retries
        with pytest.raises(APITimeoutError) as spent:
            client.spending_limit.get(account_id=account.cloudflare_id)
    assert time.monotonic() - started < 2
    assert not spent.value.sent and "nothing was sent" in spent.value.message
    assert [
        entry["path"].rsplit("/", 1)[-1] for entry in own_cloudflare.requests()
    ] == []  # the slow one answers later
    client.close()
