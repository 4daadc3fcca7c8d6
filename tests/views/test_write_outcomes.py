"""Every write from a page has one outcome and says it: auto top-up and spending-limit forms act once per
intent (eight parallel submits included), a lost answer is never re-sent and reads "we don't know yet" until a
read settles it, and a 429 or a slow Cloudflare never holds the request past the web deadline."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import operations
from billing.models import AuditAction, AuditEntry, AuditOutcome, SpendingLimit, WriteIntent, WriteOutcome
from tests.support.history import snapshot
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db

SILENCE_MS = 30_000  # far past the web deadline the tests set
AUTO_TOPUP = {"amount": "50", "threshold": "20"}
LIMIT_777 = {"amount": "777", "duration": "monthly", "strategy": "fixed"}
PAGES = [
    ("auto_topup", AUTO_TOPUP, "/topup/config"),
    ("spending_limit", LIMIT_777, "/spending-limit"),
]


def url(name, account):
    return reverse(name, args=[account.cloudflare_id])


def intent_key_on(html: str) -> str:
    return re.search(r'name="intent_key" value="([0-9a-f-]{36})"', html).group(1)


def form_of(client, name, account, values) -> dict:
    """The page's form as a person submits it: the values typed, and the key the page rendered."""
    return {**values, "intent_key": intent_key_on(client.get(url(name, account)).content.decode())}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "values", "path"), PAGES)
def test_eight_parallel_submits_of_one_form_send_one_write(manager, account, cloudflare, name, values, path):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "1000")
    person = Client()
    person.force_login(manager)
    data = form_of(person, name, account, values)
    start = threading.Barrier(8)
    statuses, errors = [], []

    def submit():
        try:
            browser = Client()
            browser.force_login(manager)
            start.wait(timeout=10)
            statuses.append(browser.post(url(name, account), data).status_code)
        except Exception as error:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [] and statuses == [302] * 8
    assert len(api_requests(cloudflare, "POST", path)) == 1
    assert WriteIntent.objects.count() == 1
    assert AuditEntry.objects.count() == 1


def test_a_form_posted_again_says_it_was_not_sent_again(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)
    snapshot(account, "1000")
    client.force_login(manager)
    data = form_of(client, "auto_topup", account, AUTO_TOPUP)
    client.post(url("auto_topup", account), data)
    html = client.post(url("auto_topup", account), data, follow=True).content.decode()
    assert "This form was already submitted; it was not sent again." in html
    assert len(api_requests(cloudflare, "POST", "/topup/config")) == 1


LOST_ANSWERS = [
    pytest.param({"status": 502, "body": "html"}, id="html-502"),
    pytest.param({"body": "reset"}, id="reset"),
    pytest.param({"body": "truncated"}, id="truncated-200"),
]


@pytest.mark.parametrize("fault", LOST_ANSWERS)
def test_a_spending_limit_applied_but_its_answer_lost_is_unknown_then_settled_as_applied(
    client, manager, account, cloudflare, fault
):
    cloudflare.configure(accept_dashboard_writes=True)
    snapshot(account, "1000")
    client.force_login(manager)
    cloudflare.add_fault(method="POST", path_contains="/spending-limit", apply=True, **fault)

    response = client.post(
        url("spending_limit", account), form_of(client, "spending_limit", account, LIMIT_777)
    )
    html = client.get(response["Location"]).content.decode()

    assert len(api_requests(cloudflare, "POST", "/spending-limit")) == 1  # never re-sent
    assert "We don&#x27;t know yet whether Cloudflare applied it" in html
    assert "Nothing was changed" not in html and "failed" not in html.lower().split("<main")[-1]
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditOutcome.UNKNOWN  # not "failed": Cloudflare may well hold it
    intent = WriteIntent.objects.get()
    assert intent.outcome == WriteOutcome.UNKNOWN

    assert operations.settle_write(intent.pk)  # the follow-up read

    intent.refresh_from_db()
    assert intent.outcome == WriteOutcome.SUCCEEDED
    assert intent.cloudflare_holds == "a spending limit of $777.00 per monthly window (fixed)"
    settled = AuditEntry.objects.get(action=AuditAction.WRITE_SETTLED)
    assert settled.outcome == AuditOutcome.SUCCEEDED
    assert settled.parameters["cloudflare_holds"] == intent.cloudflare_holds
    assert SpendingLimit.objects.get(account=account).amount == 777
    html = client.get(url("spending_limit", account)).content.decode()
    assert "found Cloudflare holds a spending limit of $777.00" in html and "so it was applied" in html
    assert "We don&#x27;t know yet" not in html


def test_a_lost_answer_that_was_not_applied_is_settled_as_not_applied(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)
    snapshot(account, "1000")
    client.force_login(manager)
    cloudflare.add_fault(method="POST", path_contains="/topup/config", status=502, body="html")
    client.post(url("auto_topup", account), form_of(client, "auto_topup", account, AUTO_TOPUP))
    intent = WriteIntent.objects.get()
    assert intent.outcome == WriteOutcome.UNKNOWN

    assert operations.settle_unknown_writes() == 1

    intent.refresh_from_db()
    assert (intent.outcome, intent.cloudflare_holds) == (WriteOutcome.FAILED, "auto top-up off")
    settled = AuditEntry.objects.get(action=AuditAction.WRITE_SETTLED)
    assert settled.outcome == AuditOutcome.FAILED and "auto top-up off" in settled.error
    assert len(api_requests(cloudflare, "POST", "/topup/config")) == 1


def test_a_write_whose_read_fails_stays_unknown_and_is_read_again_later(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)
    snapshot(account, "1000")
    client.force_login(manager)
    cloudflare.add_fault(method="POST", path_contains="/spending-limit", body="reset", apply=True)
    client.post(url("spending_limit", account), form_of(client, "spending_limit", account, LIMIT_777))
    intent = WriteIntent.objects.get()
    cloudflare.add_fault(method="GET", path_contains="/spending-limit", status=503)

    assert not operations.settle_write(intent.pk)
    intent.refresh_from_db()
    assert intent.outcome == WriteOutcome.UNKNOWN and intent.last_checked_at is not None
    html = client.get(url("spending_limit", account)).content.decode()
    assert "Last read of Cloudflare: 2026-03-18 10:2" in html
    assert operations.settle_unknown_writes() == 0  # read just now: not again within the minute

    assert operations.settle_unknown_writes(now=timezone.now() + timedelta(seconds=61)) == 1
    intent.refresh_from_db()
    assert intent.outcome == WriteOutcome.SUCCEEDED


@pytest.mark.parametrize(("name", "values", "path"), PAGES)
def test_a_long_retry_after_is_answered_at_once_and_nothing_is_sent(
    client, manager, account, cloudflare, settings, name, values, path
):
    from billing import clients

    settings.CLOUDFLARE_MAX_RETRIES = 2  # a background job would wait out a Retry-After this long
    clients.reset_clients()
    cloudflare.configure(accept_dashboard_writes=True)
    snapshot(account, "1000")
    client.force_login(manager)
    cloudflare.add_fault(method="POST", path_contains=path, status=429, retry_after=45, count=2)

    started = time.monotonic()
    response = client.post(url(name, account), form_of(client, name, account, values))
    elapsed = time.monotonic() - started

    assert elapsed < 2  # never the 45 s Cloudflare asked for
    html = response.content.decode()
    assert re.search(r"Cloudflare asked to wait 45 s, until 10:2\d:\d\d UTC\. Nothing was sent", html)
    assert len(api_requests(cloudflare, "POST", path)) == 1
    assert AuditEntry.objects.get().outcome == AuditOutcome.FAILED


@pytest.mark.parametrize("apply", [False, True], ids=["slow", "applied-then-timeout"])
def test_a_slow_write_answers_within_the_web_deadline_as_unknown(
    client, manager, account, own_cloudflare, settings, apply
):
    settings.CLOUDFLARE_WEB_TIMEOUT = 0.5
    own_cloudflare.configure(accept_dashboard_writes=True)
    snapshot(account, "1000")
    client.force_login(manager)
    data = form_of(client, "spending_limit", account, LIMIT_777)
    own_cloudflare.add_fault(
        method="POST", path_contains="/spending-limit", latency_ms=SILENCE_MS, apply=apply
    )

    started = time.monotonic()
    response = client.post(url("spending_limit", account), data)
    elapsed = time.monotonic() - started

    assert elapsed < 0.5 + 2
    html = client.get(response["Location"]).content.decode()
    assert "We don&#x27;t know yet whether Cloudflare applied it" in html
    intent = WriteIntent.objects.get()
    assert intent.outcome == WriteOutcome.UNKNOWN
    assert operations.settle_write(intent.pk)
    intent.refresh_from_db()
    assert intent.outcome == (WriteOutcome.SUCCEEDED if apply else WriteOutcome.FAILED)
