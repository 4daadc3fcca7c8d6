"""Money-moving operations against the sandbox over real HTTP: once only, audited, honest about unknowns."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import operations, sync
from billing.limits import Bounds, topup_bounds
from billing.models import (
    AuditAction,
    AuditEntry,
    AuditOutcome,
    AutoTopUpConfig,
    SpendingLimit,
    SyncOutcome,
    TopUp,
    TopUpRange,
    TopUpStatus,
)
from tests.support.history import snapshot
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db


def test_topup_is_sent_once_and_recorded_pending_with_an_audit_entry(cloudflare, account, manager):
    snapshot(account, "50")
    result = operations.start_topup(account, manager, 2500, uuid.uuid4(), ip_address="10.0.0.1")

    topup = TopUp.objects.get()
    assert result.created and result.topup == topup
    assert topup.status == TopUpStatus.PENDING
    assert topup.payment_intent_id
    assert topup.amount_cents == 2500 and topup.fee_cents == 125
    assert (topup.card_brand, topup.card_last4) == ("visa", "4242")
    posts = api_requests(cloudflare, "POST", "/topup")
    assert len(posts) == 1 and posts[0]["body"] == {"amount": 2500}
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome) == (
        manager,
        AuditAction.TOPUP_CREATE,
        AuditOutcome.PENDING,
    )
    assert entry.parameters["amount_cents"] == 2500
    assert entry.parameters["payment_intent_id"] == topup.payment_intent_id
    assert entry.ip_address == "10.0.0.1"


def test_same_intent_twice_creates_one_topup_and_one_request(cloudflare, account, manager):
    key = uuid.uuid4()
    first = operations.start_topup(account, manager, 1000, key)
    second = operations.start_topup(account, manager, 1000, key)

    assert first.created and not second.created
    assert second.topup.pk == first.topup.pk
    assert TopUp.objects.count() == 1
    assert len(api_requests(cloudflare, "POST", "/topup")) == 1
    assert AuditEntry.objects.count() == 1


def test_intent_of_another_account_is_refused(cloudflare, account, other_account, manager):
    key = uuid.uuid4()
    operations.start_topup(account, manager, 1000, key)
    with pytest.raises(operations.OperationError):
        operations.start_topup(other_account, manager, 1000, key)
    assert len(api_requests(cloudflare, "POST", "/topup")) == 1


def test_lost_answer_marks_the_topup_unknown_and_never_resends(cloudflare, account, manager):
    cloudflare.add_fault(method="POST", path_contains="/topup", count=1, status=500)
    result = operations.start_topup(account, manager, 1000, uuid.uuid4())

    assert result.topup.status == TopUpStatus.UNKNOWN
    assert "may or may not" in result.topup.error
    assert operations.needs_check(result.topup)
    assert len(api_requests(cloudflare, "POST", "/topup")) == 1
    assert AuditEntry.objects.get().outcome == AuditOutcome.UNKNOWN


def test_refused_topup_is_failed_and_raises_with_cloudflares_message(cloudflare, account, manager):
    cloudflare.add_fault(method="POST", path_contains="/topup", count=1, status=400)
    with pytest.raises(operations.OperationError) as raised:
        operations.start_topup(account, manager, 1000, uuid.uuid4())

    assert "Cloudflare said" in raised.value.message or "rejected" in raised.value.message
    assert TopUp.objects.get().status == TopUpStatus.FAILED
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditOutcome.FAILED and entry.error


def test_auto_topup_set_and_remove_update_the_local_row_and_the_sandbox(cloudflare, account, manager):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    operations.set_auto_topup(account, manager, amount_cents=5000, threshold_cents=2000)
    config = AutoTopUpConfig.objects.get(account=account)
    assert (config.amount, config.threshold) == (50, 20)
    assert cloudflare.account(account.cloudflare_id)["topup_config"]["amount"] == 5000

    operations.remove_auto_topup(account, manager)
    config = AutoTopUpConfig.objects.get(account=account)
    assert config.amount is None and not config.enabled
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "outcome"))
    assert actions == [
        (AuditAction.AUTO_TOPUP_SET, AuditOutcome.SUCCEEDED),
        (AuditAction.AUTO_TOPUP_DELETE, AuditOutcome.SUCCEEDED),
    ]


def test_dashboard_only_refusal_is_reported_as_such(cloudflare, account, manager):
    with pytest.raises(operations.OperationError) as raised:
        operations.set_auto_topup(account, manager, amount_cents=5000, threshold_cents=2000)
    assert raised.value.dashboard_only
    assert "dashboard" in raised.value.message
    assert not AutoTopUpConfig.objects.filter(account=account).exists()
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditOutcome.REFUSED and "403" in entry.error
    assert operations.auto_topup_refusal(account) == entry


def test_refused_removal_of_auto_topup_keeps_the_local_row(cloudflare, account, manager):
    cloudflare.put_account(account.cloudflare_id, topup_config={"amount": 5000, "threshold": 2000})
    AutoTopUpConfig.objects.create(account=account, amount=50, threshold=20, synced_at=timezone.now())
    with pytest.raises(operations.OperationError) as raised:
        operations.remove_auto_topup(account, manager)
    assert raised.value.dashboard_only and not raised.value.unknown
    assert AutoTopUpConfig.objects.get(account=account).enabled
    assert cloudflare.account(account.cloudflare_id)["topup_config"]["amount"] == 5000
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome) == (AuditAction.AUTO_TOPUP_DELETE, AuditOutcome.REFUSED)


def test_deprecated_spending_limit_is_refused_and_says_what_replaces_it(cloudflare, account, manager):
    with pytest.raises(operations.OperationError) as raised:
        operations.set_spending_limit(
            account, manager, amount_cents=50000, duration="monthly", strategy="fixed"
        )
    assert "per-gateway spend limits" in raised.value.message and raised.value.dashboard_only
    assert not SpendingLimit.objects.filter(account=account).exists()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome) == (AuditAction.SPENDING_LIMIT_SET, AuditOutcome.REFUSED)
    assert entry.parameters | {"intent_key": "-"} == {
        "amount_cents": 50000,
        "duration": "monthly",
        "strategy": "fixed",
        "intent_key": "-",
    }
    assert operations.spending_limit_refusal(account) == entry
    assert operations.auto_topup_refusal(account) is None  # a refusal belongs to its own page


def test_a_later_success_ends_the_standing_refusal(cloudflare, account, manager):
    with pytest.raises(operations.OperationError):
        operations.set_auto_topup(account, manager, amount_cents=5000, threshold_cents=2000)
    assert operations.auto_topup_refusal(account) is not None
    cloudflare.configure(accept_dashboard_writes=True)
    operations.set_auto_topup(account, manager, amount_cents=5000, threshold_cents=2000)
    assert operations.auto_topup_refusal(account) is None


def test_spending_limit_set_and_remove(cloudflare, account, manager):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    operations.set_spending_limit(account, manager, amount_cents=50000, duration="monthly", strategy="fixed")
    limit = SpendingLimit.objects.get(account=account)
    assert limit.enabled and limit.amount == 500
    assert len(api_requests(cloudflare, "POST", "/spending-limit")) == 1

    operations.remove_spending_limit(account, manager)
    limit = SpendingLimit.objects.get(account=account)
    assert not limit.enabled and limit.amount is None


def test_spending_limit_before_first_topup_is_refused_and_nothing_recorded(cloudflare, account, manager):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    cloudflare.put_account(account.cloudflare_id, first_topup_success=False)
    with pytest.raises(operations.OperationError) as raised:
        operations.set_spending_limit(
            account, manager, amount_cents=10000, duration="daily", strategy="fixed"
        )
    assert "Cloudflare said" in raised.value.message
    assert not SpendingLimit.objects.filter(account=account).exists()
    assert AuditEntry.objects.get().outcome == AuditOutcome.FAILED


def test_topup_bounds_fall_back_to_the_reference_minimum_and_the_portal_maximum(account, settings):
    settings.TOPUP_MAX_DOLLARS = 2000
    bounds = topup_bounds(account)
    assert (bounds.min_cents, bounds.max_cents) == (1000, 200000)


def test_topup_limits_fetched_by_a_sync_are_remembered(cloudflare, account, settings):
    settings.TOPUP_MAX_DOLLARS = 10**9
    assert sync.sync_topup_range(account).outcome == SyncOutcome.SUCCEEDED
    assert len(api_requests(cloudflare, "GET", "/topup/limits")) == 1
    stored = TopUpRange.objects.get(account=account)
    bounds = topup_bounds(account)
    assert bounds == Bounds(stored.min_cents, stored.max_cents)
    assert bounds.min_cents == 1000


def test_topup_limits_unavailable_fall_back_without_error(cloudflare, account):
    cloudflare.add_fault(method="GET", path_contains="/topup/limits", count=5, status=503)
    assert sync.sync_topup_range(account).outcome == SyncOutcome.FAILED
    bounds = topup_bounds(account)
    assert bounds.min_cents == 1000


def test_fee_is_rounded_half_up_to_a_cent(settings):
    settings.TOPUP_FEE_PERCENT = Decimal("5")
    assert operations.fee_cents(1000) == 50
    assert operations.fee_cents(1010) == 51  # 50.5 cents rounds up
    assert operations.fee_cents(1009) == 50  # 50.45 cents rounds down
