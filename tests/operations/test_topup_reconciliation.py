"""Top-up reconciliation (billing/operations/topups.py): unsettled top-ups asked about, settled and audited,
never sent again; against the sandbox over real HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import operations
from billing.models import (
    AuditAction,
    AuditEntry,
    BalanceSnapshot,
    TopUp,
    TopUpStatus,
)
from billing.operations import topups
from tests.support.sandbox_fixtures import VISA
from tests.support.sync_fixtures import make_account

pytestmark = pytest.mark.django_db


# --- pending top-ups ------------------------------------------------------------------------------------
def pending_topup(cloudflare, account, *, minutes_ago: float = 0) -> TopUp:
    from billing.clients import client_for

    created = client_for(account).topup.create(account_id=account.cloudflare_id, amount=1000)
    now = timezone.now()
    return TopUp.objects.create(
        account=account,
        amount_cents=1000,
        payment_intent_id=created.payment_intent_id,
        status=TopUpStatus.PENDING,
        requested_at=now - timedelta(minutes=minutes_ago),
        next_check_at=now,
    )


def test_a_pending_topup_is_polled_with_backoff_until_completed_then_audited_once(cloudflare):
    account = make_account(cloudflare, 1, balance=0, payment_method=VISA)
    topup = pending_topup(cloudflare, account)

    assert operations.poll_due_topups() == 1  # the sandbox completes it 5 simulated seconds later
    topup.refresh_from_db()
    assert topup.status == TopUpStatus.PENDING and topup.check_attempts == 1
    first_gap = topup.next_check_at - topup.last_checked_at
    assert operations.poll_due_topups() == 0  # not due yet

    cloudflare.advance(10)
    TopUp.objects.filter(pk=topup.pk).update(next_check_at=timezone.now())
    cloudflare.clear_requests()
    assert operations.poll_due_topups() == 1

    topup.refresh_from_db()
    assert topup.status == TopUpStatus.COMPLETED and topup.completed_at is not None
    assert first_gap >= timedelta(seconds=topups.TOPUP_POLL_BASE_SECONDS)
    entry = AuditEntry.objects.get(action=AuditAction.TOPUP_RECONCILED)
    assert entry.outcome == "succeeded" and entry.parameters["payment_intent_id"] == topup.payment_intent_id
    # The fresh balance shows the credit; nothing was bought again.
    assert BalanceSnapshot.objects.get(account=account).balance == Decimal("10")
    assert not [r for r in cloudflare.requests() if r["path"].endswith("/topup")]
    assert operations.poll_due_topups() == 0
    assert AuditEntry.objects.filter(action=AuditAction.TOPUP_RECONCILED).count() == 1


def test_a_topup_without_an_answer_is_marked_unknown_and_never_resent(cloudflare, settings):
    account = make_account(cloudflare, 1, balance=0, payment_method=VISA)
    late = settings.TOPUP_UNKNOWN_AFTER_MINUTES + 1
    topup = TopUp.objects.create(
        account=account,
        amount_cents=1000,
        payment_intent_id="pi_never_seen_by_cloudflare",
        status=TopUpStatus.PENDING,
        requested_at=timezone.now() - timedelta(minutes=late),
        next_check_at=timezone.now(),
    )
    lost = TopUp.objects.create(
        account=account,
        amount_cents=2000,
        status=TopUpStatus.REQUESTED,
        requested_at=timezone.now() - timedelta(minutes=late),
        next_check_at=timezone.now(),
    )

    assert operations.poll_due_topups() == 2

    topup.refresh_from_db()
    lost.refresh_from_db()
    assert topup.status == lost.status == TopUpStatus.UNKNOWN
    assert topup.next_check_at > timezone.now()  # still asked about, less often
    assert AuditEntry.objects.filter(action=AuditAction.TOPUP_RECONCILED, outcome="unknown").count() == 2
    posts = [r["path"].rsplit("/", 2)[-2:] for r in cloudflare.requests() if r["method"] == "POST"]
    assert posts == [["topup", "status"]]  # never re-sent; the one without an id only had reads (evidence)
