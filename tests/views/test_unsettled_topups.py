"""Unsettled money is visible to everyone who can move money: a top-up whose answer was lost is shown, with
amount, time and who, on the top-up form and its confirmation to every manager; buying again takes an audited
"I have checked"; and a top-up Cloudflare gave no id is settled from evidence, saying which."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from billing import operations
from billing.models import AuditAction, AuditEntry, Role, TopUp, TopUpStatus
from tests.support.history import snapshot
from tests.support.people_fixtures import grant
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db


def url(name, account, *args):
    return reverse(name, args=[account.cloudflare_id, *args])


def confirmation_of(browser, account, dollars: str) -> tuple[str, dict]:
    """The confirmation page for `dollars`, and its form's fields as a person submits them."""
    html = browser.post(url("topup_new", account), {"amount": dollars}).content.decode()
    fields = dict(re.findall(r'name="(amount_cents|intent_key)" value="([^"]+)"', html))
    return html, fields


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def second_manager(make_user, account):
    return grant(make_user("mia-manager"), account, Role.MANAGER)


@pytest.fixture
def lost_topup(manager, account, cloudflare):
    """Max's $25 top-up, charged by Cloudflare but its answer lost before any id came back."""
    snapshot(account, "50")
    cloudflare.add_fault(method="POST", path_contains="/topup", body="reset", apply=True)
    _, fields = confirmation_of(signed_in(manager), account, "25")
    signed_in(manager).post(url("topup_confirm", account), fields)
    topup = TopUp.objects.get()
    assert (topup.status, topup.payment_intent_id) == (TopUpStatus.UNKNOWN, "")
    cloudflare.clear_requests()
    return topup


def test_a_second_manager_sees_the_unsettled_topup_on_the_form_and_the_confirmation(
    second_manager, account, lost_topup
):
    browser = signed_in(second_manager)
    form = browser.get(url("topup_new", account)).content.decode()
    confirmation, _ = confirmation_of(browser, account, "25")
    for html in (form, confirmation):
        assert "Not settled yet: 1 top-up of this account." in html
        assert re.search(r"\$25\.00</a> requested 2026-03-18 10:2\d UTC by max-manager · needs a check", html)
    assert "I have checked the unsettled top-ups above" in confirmation


def test_buying_again_without_i_have_checked_sends_nothing(second_manager, account, cloudflare, lost_topup):
    browser = signed_in(second_manager)
    _, fields = confirmation_of(browser, account, "25")

    response = browser.post(url("topup_confirm", account), fields)

    assert response.status_code == 409
    assert "tick “I have checked” to buy more. Nothing was sent." in response.content.decode()
    assert api_requests(cloudflare, "POST", "/topup") == []
    assert TopUp.objects.count() == 1


def test_buying_again_after_i_have_checked_is_sent_once_and_audited(
    second_manager, account, cloudflare, lost_topup
):
    browser = signed_in(second_manager)
    _, fields = confirmation_of(browser, account, "25")
    browser.post(url("topup_confirm", account), fields)  # refused first: the same intent may come back

    response = browser.post(url("topup_confirm", account), {**fields, "checked_unsettled": "on"})

    assert response.status_code == 302
    assert len(api_requests(cloudflare, "POST", "/topup")) == 1
    checked = AuditEntry.objects.get(action=AuditAction.TOPUP_RECHECKED)
    assert checked.actor == second_manager
    assert checked.parameters["unsettled_topups"] == [lost_topup.pk]


def test_a_topup_without_an_id_is_checked_and_settled_from_its_invoice(manager, account, cloudflare):
    # The invoice carries Cloudflare's clock: the portal's runs from the same moment here.
    sandbox_now = datetime.fromtimestamp(cloudflare.clock()["now_ms"] / 1000, UTC)
    with time_machine.travel(sandbox_now, tick=True):
        snapshot(account, "50")
        cloudflare.add_fault(method="POST", path_contains="/topup", body="reset", apply=True)
        _, fields = confirmation_of(signed_in(manager), account, "25")
        signed_in(manager).post(url("topup_confirm", account), fields)
        topup = TopUp.objects.get()

        assert operations.poll_due_topups() == 1

        topup.refresh_from_db()
        assert topup.status == TopUpStatus.COMPLETED
        assert re.fullmatch(
            r"invoice in_\w+ of \$26\.25, created \d{4}-\d\d-\d\d \d\d:\d\d UTC", topup.evidence
        )
        assert topup.last_checked_at is not None
        page = signed_in(manager).get(url("topup_detail", account, topup.pk)).content.decode()
        assert "it was settled from evidence: invoice in_" in page
        assert "Last checked</dt><dd>never" not in page
        settled = AuditEntry.objects.get(action=AuditAction.TOPUP_RECONCILED)
        assert settled.parameters["evidence"] == topup.evidence
        assert len(api_requests(cloudflare, "POST", "/topup")) == 1  # never re-sent


def test_a_topup_without_an_id_and_without_evidence_stays_unknown_and_keeps_being_checked(
    manager, account, cloudflare
):
    snapshot(account, "50")
    cloudflare.add_fault(method="POST", path_contains="/topup", body="reset")  # not applied: no charge
    _, fields = confirmation_of(signed_in(manager), account, "25")
    signed_in(manager).post(url("topup_confirm", account), fields)

    assert operations.poll_due_topups() == 1

    topup = TopUp.objects.get()
    assert topup.status == TopUpStatus.UNKNOWN and topup.evidence == ""  # never "failed" without evidence
    assert topup.last_checked_at is not None and topup.next_check_at > topup.last_checked_at
    page = signed_in(manager).get(url("topup_detail", account, topup.pk)).content.decode()
    assert "looks for evidence instead" in page
    assert "Last checked</dt><dd>never" not in page
