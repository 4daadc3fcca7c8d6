"""The gateway-spend job against the sandbox's GraphQL over HTTP, within Cloudflare's rules: the dataset's
limits read from its settings node and obeyed, GraphQL's own quota, a field Cloudflare does not know, and
analytics that answer nothing while usage is billed."""

import csv
import io
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import time_machine
from django.db.models import Min, Sum
from django.urls import reverse
from django.utils import timezone

from billing import sync
from billing.cloudflare.resources_analytics import OPTIONAL_SUMS
from billing.models import (
    AccountAccess,
    AnalyticsSettings,
    GatewaySpendHour,
    Role,
    SyncJob,
    SyncOutcome,
    SyncRun,
)
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db
ACME_PROD = DEMO_ACCOUNTS[0]
WEEK = 7 * 86_400


def demo(cloudflare):
    from billing.models import Account

    cloudflare.reset("demo")
    return Account.objects.create(cloudflare_id=ACME_PROD[0], name=ACME_PROD[1])


def graphql(cloudflare) -> list[dict]:
    return api_requests(cloudflare, "POST", "/graphql")


def pages_as_viewer(client, make_user, account) -> list[str]:
    """The Gateways tab and the breakdown, as a viewer of the account sees them."""
    user = make_user("ana")
    AccountAccess.objects.create(user=user, account=account, role=Role.VIEWER)
    client.force_login(user)
    return [
        client.get(reverse(page, args=[account.cloudflare_id])).content.decode()
        for page in ("gateways", "gateway_breakdown")
    ]


def breakdown_csv(client, account) -> list[dict]:
    response = client.get(reverse("gateway_breakdown", args=[account.cloudflare_id]) + "?range=7d&format=csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_settings_are_read_and_a_30_day_backfill_is_split_to_fit_them(cloudflare, settings):
    settings.GATEWAY_SPEND_BACKFILL_DAYS = 30
    account = demo(cloudflare)
    cloudflare.configure(analytics_limits={"maxDuration": WEEK, "notOlderThan": 40 * 86_400})

    run = sync.sync_gateway_spend(account)

    assert run.outcome == SyncOutcome.SUCCEEDED, run.error
    calls = graphql(cloudflare)
    assert "settings" in calls[0]["body"]["query"]
    reads = [call["body"]["variables"] for call in calls[1:]]
    assert len(reads) == 5  # 30 whole days and today's hours, a week at most per query
    for variables in reads:
        assert moment(variables["end"]) - moment(variables["start"]) <= timedelta(seconds=WEEK)
    for before, after in pairwise(reads):
        assert moment(after["start"]) == moment(before["end"]) + timedelta(
            hours=1
        )  # no hour twice, none lost
    stored = AnalyticsSettings.objects.get(account=account)
    assert (stored.max_duration_seconds, stored.not_older_than_seconds) == (WEEK, 40 * 86_400)
    assert stored.max_page_size == 10_000 and stored.read_at is not None
    first = GatewaySpendHour.objects.filter(account=account).aggregate(first=Min("hour"))["first"]
    assert first == moment(reads[0]["start"]) and timezone.now() - first > timedelta(days=30)

    cloudflare.clear_requests()
    sync.sync_gateway_spend(account)
    assert len(graphql(cloudflare)) == 1  # settings are a day fresh; three hours of overlap fit one query

    cloudflare.clear_requests()
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        cloudflare.advance(86_400 + 60)
        sync.sync_gateway_spend(account)
    assert "settings" in graphql(cloudflare)[0]["body"]["query"]  # read again once a day old


def test_a_read_never_starts_before_what_not_older_than_allows(cloudflare, settings):
    settings.GATEWAY_SPEND_BACKFILL_DAYS = 30
    account = demo(cloudflare)
    cloudflare.configure(analytics_limits={"notOlderThan": 10 * 86_400, "maxPageSize": 5_000})

    run = sync.sync_gateway_spend(account)

    assert run.outcome == SyncOutcome.SUCCEEDED, run.error
    reads = [call["body"]["variables"] for call in graphql(cloudflare)[1:]]
    assert timezone.now() - moment(reads[0]["start"]) < timedelta(days=10)
    assert {variables["limit"] for variables in reads} == {5_000}
    assert len(reads) == 4  # under ten days, three days at most per query (the sandbox's default)


def test_graphql_quota_spent_fails_only_the_analytics_run(cloudflare):
    account = demo(cloudflare)
    cloudflare.configure(graphql_rate_limit=[1, 300], rate_limit=[50, 300])

    results = sync.run_units(SyncJob.USAGE, account)

    assert results[0].succeeded
    run = SyncRun.objects.get(account=account, job=SyncJob.GATEWAY_SPEND)
    assert run.outcome == SyncOutcome.FAILED and "GraphQL analytics quota" in run.error
    assert [call["status"] for call in graphql(cloudflare)] == [200, 429]
    assert SyncRun.objects.get(account=account, job=SyncJob.USAGE).outcome == SyncOutcome.SUCCEEDED
    # The REST budget is not GraphQL's: the billing API still answers.
    assert sync.sync_usage(account).outcome == SyncOutcome.SUCCEEDED


def test_the_portal_counts_graphql_against_its_own_budget(cloudflare, settings):
    account = demo(cloudflare)
    settings.CLOUDFLARE_GRAPHQL_RATE_LIMIT = 1
    settings.CLOUDFLARE_RATE_LIMIT = 3  # the usage sync's own calls still fit

    results = sync.run_units(SyncJob.USAGE, account)

    assert results[0].succeeded
    run = SyncRun.objects.get(account=account, job=SyncJob.GATEWAY_SPEND)
    assert run.outcome == SyncOutcome.FAILED and "budget" in run.error
    assert len(graphql(cloudflare)) == 1  # the second query was never sent


def test_an_unknown_field_is_asked_again_without_it_and_shown_as_not_available(cloudflare, client, make_user):
    account = demo(cloudflare)
    cloudflare.configure(analytics_unknown_fields=["cachedTokensIn"])

    run = sync.sync_gateway_spend(account)

    assert run.outcome == SyncOutcome.SUCCEEDED, run.error
    reads = graphql(cloudflare)[1:]
    assert "cachedTokensIn" in reads[0]["body"]["query"] and "cachedTokensIn" not in reads[1]["body"]["query"]
    stored = AnalyticsSettings.objects.get(account=account)
    assert set(stored.unavailable_sums) == set(OPTIONAL_SUMS.values())
    hours = GatewaySpendHour.objects.filter(account=account).aggregate(cost=Sum("cost"), n=Sum("requests"))
    assert hours["cost"] > 0 and hours["n"] > 0

    for html in pages_as_viewer(client, make_user, account):
        assert "not available from Cloudflare" in html and 'id="analytics-unavailable"' in html
    rows = breakdown_csv(client, account)
    assert rows and all(row["estimated_cost_usd"] and row["requests"] for row in rows)
    # What Cloudflare did not answer is an empty cell in the CSV, not a zero.
    missing = [name for name in OPTIONAL_SUMS.values() if name in rows[0]]
    assert missing and {row[name] for row in rows for name in missing} == {""}

    cloudflare.configure(analytics_unknown_fields=[])
    sync.sync_gateway_spend(account)
    assert AnalyticsSettings.objects.get(account=account).unavailable_sums == []


def test_no_analytics_rows_for_billed_days_say_the_token_may_lack_the_permission(
    cloudflare, client, make_user
):
    account = demo(cloudflare)
    cloudflare.configure(analytics_empty=True)

    sync.run_units(SyncJob.USAGE, account)

    run = SyncRun.objects.get(account=account, job=SyncJob.GATEWAY_SPEND)
    assert run.outcome == SyncOutcome.SUCCEEDED  # no error: Cloudflare answered, with nothing
    silent = AnalyticsSettings.objects.get(account=account).silent_days
    assert len(silent) >= 13 and max(silent) < timezone.now().astimezone(UTC).date().isoformat()
    for html in pages_as_viewer(client, make_user, account):
        assert 'id="analytics-silent"' in html and "Account Analytics: Read" in html

    cloudflare.configure(analytics_empty=False)
    sync.run_units(SyncJob.USAGE, account)
    assert AnalyticsSettings.objects.get(account=account).silent_days == []
    html = client.get(reverse("gateways", args=[account.cloudflare_id])).content.decode()
    assert 'id="analytics-silent"' not in html
