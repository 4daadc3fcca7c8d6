"""The snapshot jobs of billing/sync/ against the Cloudflare sandbox over real HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import sync
from billing.models import (
    Account,
    AutoTopUpConfig,
    BalanceSnapshot,
    Invoice,
    InvoicePreview,
    SpendingLimit,
    SyncJob,
    SyncOutcome,
    SyncRun,
    UsageRecord,
)
from tests.support.sandbox_fixtures import VISA, api_requests
from tests.support.sync_fixtures import ACME_PROD, demo_account, make_account

pytestmark = pytest.mark.django_db


# --- balance ------------------------------------------------------------------------------------------
def test_balance_snapshot_is_in_dollars_with_card_and_auto_topup_config(cloudflare):
    account = make_account(
        cloudflare,
        1,
        balance=12345,
        payment_method=VISA,
        first_topup_success=True,
        topup_config={"amount": 2000, "threshold": 1000},
    )

    run = sync.sync_balance(account)

    assert run.outcome == SyncOutcome.SUCCEEDED and run.api_calls == 1
    snapshot = BalanceSnapshot.objects.get(account=account)
    assert snapshot.balance == Decimal("123.45")
    assert (snapshot.payment_method_brand, snapshot.payment_method_last4) == ("visa", "4242")
    assert snapshot.first_topup_success is True
    assert (snapshot.auto_topup_amount, snapshot.auto_topup_threshold) == (Decimal("20"), Decimal("10"))
    config = AutoTopUpConfig.objects.get(account=account)
    assert config.enabled and config.amount == Decimal("20")


def test_a_failed_balance_fetch_writes_no_snapshot_and_records_the_error(cloudflare):
    account = make_account(cloudflare, 1, balance=500)
    cloudflare.add_fault(path_contains="credit-balance", status=503, count=10)

    run = sync.sync_balance(account)

    assert run.outcome == SyncOutcome.FAILED
    assert "503" in run.error
    assert run.api_calls == 3  # the client's own retries, counted
    assert not BalanceSnapshot.objects.exists()


def test_a_429_with_retry_after_is_retried_and_succeeds(cloudflare):
    account = make_account(cloudflare, 1, balance=500)
    cloudflare.add_fault(path_contains="credit-balance", status=429, retry_after=1, count=1)

    run = sync.sync_balance(account)

    assert run.outcome == SyncOutcome.SUCCEEDED and run.api_calls == 2
    assert BalanceSnapshot.objects.get(account=account).balance == Decimal("5")


def test_one_broken_account_does_not_stop_the_others(cloudflare):
    good = [make_account(cloudflare, n, balance=100 * n) for n in (1, 2)]
    unknown = Account.objects.create(cloudflare_id="f" * 32, name="Not at Cloudflare")  # 404
    refused = make_account(cloudflare, 3, balance=1)
    garbage = make_account(cloudflare, 4, balance=1)
    cloudflare.add_fault(path_contains=refused.cloudflare_id, status=401, count=None)
    cloudflare.add_fault(path_contains=garbage.cloudflare_id, body="html", status=200, count=None)

    summary = sync.run_job(SyncJob.BALANCE, [a.pk for a in [*good, unknown, refused, garbage]])

    assert (summary.succeeded, summary.failed) == (2, 3)
    assert set(BalanceSnapshot.objects.values_list("account_id", flat=True)) == {a.pk for a in good}
    failed = {r.account_id: r.error for r in SyncRun.objects.filter(outcome=SyncOutcome.FAILED)}
    assert set(failed) == {unknown.pk, refused.pk, garbage.pk}
    assert "does not know this account" in failed[unknown.pk]
    assert "401" in failed[refused.pk]
    assert summary.retry == [garbage.pk]  # an HTML answer may pass; a 401 or 404 will not


def test_the_balance_sweep_makes_one_call_per_account_and_fetches_limits_only_when_stale(
    cloudflare, settings
):
    accounts = [make_account(cloudflare, n, balance=1000) for n in (1, 2, 3)]
    ids = [a.pk for a in accounts]

    sync.run_job(SyncJob.BALANCE, ids)
    assert len(api_requests(cloudflare, contains="credit-balance")) == 3
    assert len(api_requests(cloudflare, contains="spending-limit")) == 3  # never fetched before
    assert SpendingLimit.objects.count() == 3

    cloudflare.clear_requests()
    sync.run_job(SyncJob.BALANCE, ids)
    assert [r["path"].rsplit("/", 1)[1] for r in cloudflare.requests()] == ["credit-balance"] * 3

    SpendingLimit.objects.filter(account=accounts[0]).update(
        synced_at=timezone.now() - timedelta(seconds=settings.SPENDING_LIMIT_REFRESH_SECONDS + 1)
    )
    cloudflare.clear_requests()
    sync.run_job(SyncJob.BALANCE, ids)
    assert len(api_requests(cloudflare, contains="spending-limit")) == 1


def test_spending_limit_amount_is_stored_in_dollars(cloudflare):
    account = make_account(
        cloudflare,
        1,
        balance=1000,
        first_topup_success=True,
        spending_limit={"amount": 50000, "duration": "monthly", "strategy": "sliding"},
    )
    run = sync.sync_spending_limit(account)
    assert run.outcome == SyncOutcome.SUCCEEDED
    limit = SpendingLimit.objects.get(account=account)
    assert (limit.enabled, limit.amount, limit.duration, limit.strategy) == (
        True,
        Decimal("500"),
        "monthly",
        "sliding",
    )


# --- locks ----------------------------------------------------------------------------------------------
def test_a_running_sync_of_the_same_job_and_account_is_not_run_twice(cloudflare):
    account = make_account(cloudflare, 1, balance=1000)
    SyncRun.objects.create(job=SyncJob.BALANCE, account=account, started_at=timezone.now())

    assert sync.sync_balance(account) is None
    assert api_requests(cloudflare) == []
    # Another job of the same account is not blocked.
    assert sync.sync_spending_limit(account).outcome == SyncOutcome.SUCCEEDED


def test_a_lock_left_by_a_dead_worker_expires(cloudflare, settings):
    account = make_account(cloudflare, 1, balance=1000)
    old = timezone.now() - timedelta(seconds=settings.SYNC_LOCK_TIMEOUT_SECONDS + 5)
    abandoned = SyncRun.objects.create(job=SyncJob.BALANCE, account=account, started_at=old)

    run = sync.sync_balance(account)

    assert run.outcome == SyncOutcome.SUCCEEDED
    abandoned.refresh_from_db()
    assert abandoned.outcome == SyncOutcome.FAILED and "abandoned" in abandoned.error


# --- usage ----------------------------------------------------------------------------------------------
def test_first_usage_sync_backfills_and_a_second_corrects_without_duplicates(cloudflare, settings):
    account = demo_account(cloudflare)
    now = timezone.now()

    run = sync.sync_usage(account)

    assert run.outcome == SyncOutcome.SUCCEEDED and run.api_calls == 2
    days = UsageRecord.objects.filter(account=account, window="day")
    hours = UsageRecord.objects.filter(account=account, window="hour")
    assert settings.USAGE_BACKFILL_DAYS <= days.count() <= settings.USAGE_BACKFILL_DAYS + 2
    hours_expected = settings.USAGE_BACKFILL_HOURS_DAYS * 24
    assert hours_expected - 1 <= hours.count() <= hours_expected + 1
    first_day = days.order_by("start").first().start
    assert now - first_day <= timedelta(days=settings.USAGE_BACKFILL_DAYS + 1)
    # A whole past day: its day row is the sum of its hour rows.
    day = days.order_by("-start")[2]
    in_day = hours.filter(start__gte=day.start, start__lt=day.end)
    assert in_day.count() == 24
    assert sum(r.value for r in in_day) == day.value
    counts = (days.count(), hours.count())

    cloudflare.clear_requests()
    sync.sync_usage(account)

    assert (days.count(), hours.count()) == counts
    queries = {r["query"]["value_grouping_window"]: r["query"] for r in cloudflare.requests()}
    newest_hour = hours.order_by("-start").first().start
    hour_start_ms = int(queries["hour"]["start_time"])
    expected = newest_hour - timedelta(hours=settings.USAGE_HOUR_OVERLAP_HOURS)
    assert hour_start_ms == int(expected.timestamp() * 1000)
    day_start_ms = int(queries["day"]["start_time"])
    assert day_start_ms == int((days.order_by("-start").first().start - timedelta(days=1)).timestamp() * 1000)


def test_backfill_days_fetches_that_much_history_again(cloudflare):
    account = demo_account(cloudflare)
    sync.sync_usage(account, backfill_days=3)
    assert 3 <= UsageRecord.objects.filter(account=account, window="day").count() <= 4
    assert 3 * 24 - 1 <= UsageRecord.objects.filter(account=account, window="hour").count() <= 3 * 24 + 1


# --- invoices -------------------------------------------------------------------------------------------
def test_invoices_are_tagged_manual_or_auto_and_the_preview_kept_once(cloudflare):
    account = demo_account(cloudflare)
    remote = cloudflare.account(ACME_PROD)

    run = sync.sync_invoices(account)
    sync.sync_invoices(account)

    assert run.outcome == SyncOutcome.SUCCEEDED and run.api_calls == 3
    invoices = Invoice.objects.filter(account=account)
    # The demo invoices one per top-up, each tagged by the top-up's origin.
    expected = {t["invoice_id"]: t["origin"] for t in remote["topups"]}
    assert dict(invoices.values_list("invoice_id", "invoice_type")) == expected
    assert set(expected.values()) == {"manual", "auto"}  # Acme Prod's auto top-up has fired
    first = invoices.filter(invoice_type="manual").order_by("created").first()
    assert first.amount_due == Decimal("1050")  # $1,000 of credit and the 5 % fee, sent in cents
    assert first.created is not None and first.invoice_pdf.startswith("http")
    preview = InvoicePreview.objects.get(account=account)
    assert preview.lines.count() == 1 and preview.period_start < preview.period_end


def test_an_invoice_without_an_id_gets_a_stable_synthetic_one(db, account):
    from billing.cloudflare import Invoice as RemoteInvoice

    remote = RemoteInvoice(
        amount_due=Decimal(1050), amount_paid=Decimal(0), amount_remaining=Decimal(1050), currency="usd",
        created=Decimal(1_700_000_000), description="credits", status="open",
    )  # fmt: skip
    sync.store_invoices(account, [("manual", remote)], timezone.now())
    paid = RemoteInvoice(**{**{f: getattr(remote, f) for f in remote.__slots__}, "status": "paid"})
    sync.store_invoices(account, [("manual", paid)], timezone.now())

    invoice = Invoice.objects.get(account=account)
    assert invoice.invoice_id.startswith("synthetic_") and invoice.status == "paid"


# --- many accounts on threads ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_sweep_on_threads_syncs_every_account_once(cloudflare, settings):
    settings.SYNC_THREADS = 4
    accounts = [make_account(cloudflare, n, balance=n * 100) for n in range(1, 9)]

    summary = sync.run_job(SyncJob.BALANCE, [a.pk for a in accounts])

    assert (summary.succeeded, summary.failed) == (8, 0)
    assert BalanceSnapshot.objects.count() == 8
    balances = dict(BalanceSnapshot.objects.values_list("account__cloudflare_id", "balance"))
    assert balances[accounts[4].cloudflare_id] == Decimal("5")
    assert not SyncRun.objects.filter(outcome=SyncOutcome.RUNNING).exists()
