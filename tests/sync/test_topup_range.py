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
