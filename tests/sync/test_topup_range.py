"""Cloudflare's top-up range: stored in the database by any sync of the account, fetched again once a day old,
read by the top-up forms without an API call."""

from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing import pipeline, sync
from billing.limits import Bounds, topup_bounds
from billing.models import SyncJob, SyncOutcome, SyncRun, TopUpRange
from billing.sync import topup_range
from tests.support.local_cloudflare import TOKEN, LocalCloudflare, reply
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db

SANDBOX_RANGE = (1000, 100_000)  # the sandbox's `topup/limits`: $10.00 to $1,000.00


def topup_page(client, account) -> str:
    return unescape(client.get(reverse("topup_new", args=[account.cloudflare_id])).content.decode())


def range_requests(cloudflare) -> list[dict]:
    return api_requests(cloudflare, "GET", "/topup/limits")


def test_a_first_manage_py_sync_stores_cloudflares_maximum_and_the_form_says_it(
    client, manager, account, cloudflare
):
    client.force_login(manager)
    assert "From $10.00 to $10,000.00: Cloudflare's minimum and the portal's maximum." in topup_page(
        client, account
    )

    call_command("sync", "--account", account.cloudflare_id)

    stored = TopUpRange.objects.get(account=account)
    assert (stored.min_cents, stored.max_cents, stored.currency) == (*SANDBOX_RANGE, "USD")
    assert len(range_requests(cloudflare)) == 1
    cloudflare.clear_requests()
    html = topup_page(client, account)
    assert "Cloudflare allows $10.00 to $1,000.00 for this account." in html
    assert "$10,000.00" not in html
    assert api_requests(cloudflare) == []  # the page read the stored range


def test_the_range_survives_a_cache_clear(client, manager, account, cloudflare):
    assert sync.sync_topup_range(account).outcome == SyncOutcome.SUCCEEDED
    cache.clear()
    assert topup_bounds(account) == Bounds(*SANDBOX_RANGE)
    client.force_login(manager)
    assert "Cloudflare allows $10.00 to $1,000.00 for this account." in topup_page(client, account)


@pytest.mark.parametrize("job", [SyncJob.BALANCE, SyncJob.USAGE, SyncJob.INVOICES, SyncJob.ACCOUNT])
def test_any_sync_fetches_a_range_a_day_old_and_leaves_a_fresh_one(account, cloudflare, job):
    pipeline.run_for_account(job, account)
    assert len(range_requests(cloudflare)) == 1  # unknown: fetched

    pipeline.run_for_account(job, account)
    assert len(range_requests(cloudflare)) == 1  # fresh: left alone

    a_day_ago = timezone.now() - topup_range.REFRESH
    TopUpRange.objects.filter(account=account).update(synced_at=a_day_ago, max_cents=555)
    pipeline.run_for_account(job, account)
    assert len(range_requests(cloudflare)) == 2  # a day old: fetched again
    stored = TopUpRange.objects.get(account=account)
    assert (stored.min_cents, stored.max_cents) == SANDBOX_RANGE
    assert stored.synced_at > a_day_ago


def test_the_sweeps_run_the_range_through_the_one_path(account, cloudflare):
    summary = pipeline.run(SyncJob.USAGE, [account.pk])
    assert str(summary.units[SyncJob.TOPUP_RANGE]) == (
        "1 synced, 0 failed, 0 skipped (already running elsewhere)"
    )
    assert SyncRun.objects.get(account=account, job=SyncJob.TOPUP_RANGE).api_calls == 1


def test_a_sync_whose_own_unit_failed_does_not_ask_for_the_range(account, cloudflare):
    cloudflare.add_fault(method="GET", path_contains="/credit-balance", count=1, status=503)
    results = pipeline.run_for_account(SyncJob.BALANCE, account)
    assert results[0].error is not None
    assert range_requests(cloudflare) == []
    assert not TopUpRange.objects.filter(account=account).exists()


def test_a_failed_fetch_waits_an_hour_and_keeps_the_last_known_range(account, cloudflare):
    a_day_ago = timezone.now() - timedelta(days=2)
    sync.store_topup_range(account, 2000, 50_000, synced_at=a_day_ago)
    cloudflare.add_fault(method="GET", path_contains="/topup/limits", count=1, status=503)

    pipeline.run_for_account(SyncJob.BALANCE, account)
    assert SyncRun.objects.get(account=account, job=SyncJob.TOPUP_RANGE).outcome == SyncOutcome.FAILED
    assert topup_bounds(account) == Bounds(2000, 50_000)  # the last known range stays in use
    pipeline.run_for_account(SyncJob.BALANCE, account)
    assert len(range_requests(cloudflare)) == 1  # not asked again at once

    later = timezone.now() + topup_range.RETRY + timedelta(seconds=1)
    assert not topup_range.topup_range_due(account, now=later - timedelta(minutes=2))
    assert topup_range.topup_range_due(account, now=later)


@pytest.fixture
def local_cloudflare(settings, account):
    """The portal pointed at a scripted loopback server (the sandbox never withdraws `topup/limits`)."""
    from billing import clients

    with LocalCloudflare() as local:
        settings.CLOUDFLARE_API_BASE_URL = local.base_url
        settings.CLOUDFLARE_API_TOKEN = TOKEN
        settings.CLOUDFLARE_MAX_RETRIES = 0
        clients.reset_clients()
        yield local
    clients.reset_clients()


def gone(status: int):
    return reply(
        status, {"success": False, "errors": [{"code": 7000, "message": "No route"}], "result": None}
    )


def withdrawn_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "topup/limits (deprecated)" in r.getMessage()]


@pytest.mark.parametrize("status", [404, 410])
def test_a_withdrawn_topup_limits_keeps_the_last_range_and_says_so_once(
    account, local_cloudflare, caplog, status
):
    two_days_ago = timezone.now() - timedelta(days=2)
    sync.store_topup_range(account, 2000, 50_000, synced_at=two_days_ago)
    local_cloudflare.answer(gone(status))

    with caplog.at_level("INFO", logger="billing.sync"):
        first = sync.sync_topup_range(account)
        second = sync.sync_topup_range(account)

    assert [r["path"].rsplit("/", 2)[-2:] for r in local_cloudflare.requests] == [["topup", "limits"]] * 2
    assert (first.outcome, second.outcome) == (SyncOutcome.SUCCEEDED, SyncOutcome.SUCCEEDED)
    assert topup_bounds(account) == Bounds(2000, 50_000)
    (warning,) = withdrawn_warnings(caplog)
    assert f"HTTP {status}" in warning and "2000–50000 cents" in warning
    stored = TopUpRange.objects.get(account=account)
    assert stored.withdrawn_at is not None and stored.synced_at > two_days_ago
    # Asked again a day later, not at every sync.
    assert not topup_range.topup_range_due(account)
    assert topup_range.topup_range_due(account, now=timezone.now() + topup_range.REFRESH)


def test_a_withdrawn_topup_limits_without_a_known_range_leaves_the_forms_on_the_defaults(
    account, local_cloudflare, caplog
):
    default = topup_bounds(account)
    local_cloudflare.answer(gone(410))
    with caplog.at_level("WARNING", logger="billing.sync"):
        assert sync.sync_topup_range(account).outcome == SyncOutcome.SUCCEEDED
    assert topup_bounds(account) == default
    (warning,) = withdrawn_warnings(caplog)
    assert "no range was ever fetched" in warning


def test_topup_limits_answering_again_stores_the_range_and_a_later_withdrawal_is_logged_again(
    account, local_cloudflare, caplog
):
    local_cloudflare.answer(gone(404))
    sync.sync_topup_range(account)
    local_cloudflare.answer(
        reply(
            body={
                "success": True,
                "errors": [],
                "messages": [],
                "result": {"min_cents": 1500, "max_cents": 9000, "currency": "USD"},
            }
        )
    )
    sync.sync_topup_range(account)
    stored = TopUpRange.objects.get(account=account)
    assert (stored.min_cents, stored.max_cents, stored.withdrawn_at) == (1500, 9000, None)

    caplog.clear()
    local_cloudflare.answer(gone(404))
    with caplog.at_level("WARNING", logger="billing.sync"):
        sync.sync_topup_range(account)
    (warning,) = withdrawn_warnings(caplog)
    assert "1500–9000 cents" in warning
    assert topup_bounds(account) == Bounds(1500, 9000)


def test_other_failures_of_topup_limits_still_fail_the_unit(account, local_cloudflare):
    local_cloudflare.answer(reply(403, {"success": False, "errors": [{"code": 10000, "message": "no"}]}))
    assert sync.sync_topup_range(account).outcome == SyncOutcome.FAILED
    assert not TopUpRange.objects.filter(account=account).exists()
