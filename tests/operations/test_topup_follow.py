"""A fresh top-up is followed closely (rule: status pages follow promptly), and a completed one refreshes what
it changes (rule: what the API has just changed is shown right after), against the sandbox over real HTTP."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing import operations
from billing.forms.money import TopUpConfirmForm
from billing.models import (
    Account,
    AccountAccess,
    BalanceSnapshot,
    Invoice,
    Role,
    SyncOutcome,
    SyncRun,
    TopUp,
    TopUpStatus,
)
from tests.support.sandbox_fixtures import VISA

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(cloudflare) -> Account:
    cloudflare.put_account("a" * 32, name="Team A", balance=0, payment_method=VISA)
    return Account.objects.create(cloudflare_id="a" * 32, name="Team A")


def status_checks(cloudflare) -> int:
    return len([r for r in cloudflare.requests() if r["path"].endswith("/topup/status")])


def test_a_fresh_topup_is_asked_about_by_its_own_follow_up_checks(
    funded, cloudflare, eager_tasks, django_capture_on_commit_callbacks
):
    # The sandbox confirms a top-up only once its (simulated) delay has passed: every close check sees it
    # pending, so the whole follow-up chain runs, then the periodic job takes over.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = operations.start_topup(funded, None, 1000, TopUpConfirmForm.new_intent_key())

    assert len(callbacks) == 1
    topup = TopUp.objects.get(pk=result.topup.pk)
    assert topup.status == TopUpStatus.PENDING
    assert status_checks(cloudflare) == len(operations.FOLLOW_GAPS_SECONDS)
    assert topup.check_attempts == len(operations.FOLLOW_GAPS_SECONDS)
    assert topup.next_check_at is not None  # still due for the periodic status job
    assert operations.FOLLOW_GAPS_SECONDS[0] <= 5  # the first check comes within seconds


def test_a_confirmed_topup_refreshes_the_balance_and_the_invoices_at_once(
    funded, cloudflare, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = operations.start_topup(funded, None, 5000, TopUpConfirmForm.new_intent_key())
    cloudflare.advance(60)  # past the sandbox's confirmation delay
    for callback in callbacks:
        callback()

    topup = TopUp.objects.get(pk=result.topup.pk)
    assert topup.status == TopUpStatus.COMPLETED
    assert status_checks(cloudflare) == 1
    assert BalanceSnapshot.objects.latest_for(funded).balance == Decimal("50")
    invoices = Invoice.objects.filter(account=funded)
    assert [invoice.amount_due for invoice in invoices] == [Decimal("52.50")]
    assert SyncRun.objects.filter(account=funded, job="invoices", outcome=SyncOutcome.SUCCEEDED).exists()


def test_the_result_page_says_when_the_portal_asks(client, funded, cloudflare, django_user_model):
    manager = django_user_model.objects.create_user("mona", "mona@example.com", "pw")
    AccountAccess.objects.create(user=manager, account=funded, role=Role.MANAGER)
    client.force_login(manager)
    result = operations.start_topup(funded, manager, 1000, TopUpConfirmForm.new_intent_key())

    page = client.get(reverse("topup_detail", args=[funded.cloudflare_id, result.topup.pk]))

    text = page.content.decode()
    assert "asks Cloudflare 5, 15, 35 seconds after sending" in text
    assert "updates itself every 5 seconds" in text
    assert "not yet — the first check is at" in text
