"""Evidence that a top-up without an id was made: an invoice of its amount no other top-up holds, or the
balance rising by it beyond the other completed top-ups; nothing else counts."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceType, TopUp, TopUpStatus
from billing.operations.topup_evidence import evidence_for
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db


def lost(account, cents=2500, minutes_ago=10, **fields) -> TopUp:
    return TopUp.objects.create(
        account=account,
        intent_key=uuid.uuid4(),
        amount_cents=cents,
        fee_cents=cents * 5 // 100,
        status=fields.pop("status", TopUpStatus.UNKNOWN),
        requested_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def invoice(account, invoice_id, dollars, minutes_ago=9, kind=InvoiceType.MANUAL) -> Invoice:
    now = timezone.now()
    return Invoice.objects.create(
        account=account,
        invoice_id=invoice_id,
        invoice_type=kind,
        amount_due=Decimal(dollars),
        amount_paid=Decimal(dollars),
        amount_remaining=Decimal(0),
        created=now - timedelta(minutes=minutes_ago),
        synced_at=now,
    )


def test_a_balance_rise_of_the_amount_is_evidence_and_says_so(account):
    snapshot(account, "10", minutes_ago=11)
    topup = lost(account)
    snapshot(account, "35", minutes_ago=2)
    assert evidence_for(topup).startswith("the balance rose by $25.00, from $10.00 at")


def test_a_smaller_rise_or_one_explained_by_another_topup_is_no_evidence(account):
    snapshot(account, "10", minutes_ago=11)
    topup = lost(account)
    snapshot(account, "30", minutes_ago=2)
    assert evidence_for(topup) == ""
    snapshot(account, "35", minutes_ago=1)
    lost(account, status=TopUpStatus.COMPLETED, minutes_ago=5, payment_intent_id="in_known")
    assert evidence_for(topup) == ""  # the other top-up's $25 explains the rise


def test_an_invoice_is_evidence_for_one_topup_only(account):
    first, second = lost(account), lost(account, minutes_ago=8)
    invoice(account, "in_auto", "26.25", kind=InvoiceType.AUTO)  # an auto top-up's: never evidence
    invoice(account, "in_held", "26.25", minutes_ago=7)
    lost(account, payment_intent_id="in_held", status=TopUpStatus.COMPLETED)
    assert evidence_for(first) == ""
    invoice(account, "in_ours", "26.25")
    found = evidence_for(first)
    assert found.startswith("invoice in_ours of $26.25")
    first.evidence = found
    first.save()
    assert evidence_for(second) == ""
