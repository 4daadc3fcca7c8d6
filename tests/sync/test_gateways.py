"""The gateways and gateway-spend jobs (billing/sync/gateways.py, spend.py) against the sandbox over HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Count, Sum
from django.utils import timezone

from billing import sync
from billing.models import (
    Account,
    Gateway,
    GatewayRule,
    GatewaySpendDay,
    GatewaySpendHour,
    RuleState,
    SyncJob,
    SyncOutcome,
    SyncRun,
)
from cloudflare_sandbox.seed import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db
ACME_PROD, LABS = DEMO_ACCOUNTS[0], DEMO_ACCOUNTS[2]


def demo(cloudflare, which=ACME_PROD) -> Account:
    cloudflare.reset("demo")
    return Account.objects.create(cloudflare_id=which[0], name=which[1])


def graphql_calls(cloudflare) -> list[dict]:
    return [r for r in cloudflare.requests() if r["path"].endswith("/graphql")]


def test_gateways_and_their_rules_are_mirrored(cloudflare):
    account = demo(cloudflare)

    run = sync.sync_gateways(account)

    assert run.outcome == SyncOutcome.SUCCEEDED and run.api_calls == 1
    ids = set(Gateway.objects.filter(account=account).values_list("gateway_id", flat=True))
    assert ids == {"batch-jobs", "chat-app", "default"}
    rule = GatewayRule.objects.get(gateway__account=account)
    assert (rule.gateway.gateway_id, rule.rule_id, rule.technique) == ("chat-app", "chat-weekly", "sliding")
    assert rule.window_seconds == 7 * 86400 and rule.limit > 0
    assert Gateway.objects.get(account=account, gateway_id="default").is_default


def test_a_second_sync_replaces_rules_and_deletes_gateways_that_disappeared(cloudflare):
    account = demo(cloudflare)
    sync.sync_gateways(account)
    old_rule = GatewayRule.objects.get(gateway__account=account).pk
    rules = {"enabled": True, "rules": [{"limit": 5, "limitType": "cost", "window": 3600, "id": "hourly"}]}
    cloudflare.put_gateways(
        account.cloudflare_id,
        gateways=[{"id": "chat-app", "spend_limits": rules}, {"id": "default"}],
        mix=[("chat-app", "openai", "gpt-4o-mini", 1)],
    )

    sync.sync_gateways(account)

    assert set(Gateway.objects.filter(account=account).values_list("gateway_id", flat=True)) == {
        "chat-app",
        "default",
    }
    rule = GatewayRule.objects.get(gateway__account=account)
    assert rule.pk != old_rule and (rule.rule_id, rule.window_seconds, rule.limit) == ("hourly", 3600, 5)


def test_spend_is_stored_hourly_and_a_second_sync_with_overlap_duplicates_nothing(cloudflare):
    account = demo(cloudflare)

    sync.sync_gateway_spend(account)
    first = GatewaySpendHour.objects.filter(account=account).count()
    total = GatewaySpendHour.objects.filter(account=account).aggregate(c=Sum("cost"))["c"]
    cloudflare.advance(2 * 3600)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        sync.sync_gateway_spend(account)

    hours = GatewaySpendHour.objects.filter(account=account)
    assert first > 14 * 24 and hours.count() > first
    duplicates = hours.values("hour", "gateway", "model", "provider").annotate(n=Count("pk")).filter(n__gt=1)
    assert not duplicates.exists()
    assert hours.aggregate(c=Sum("cost"))["c"] > total
    assert {"chat-app", "batch-jobs", "default"} == set(hours.values_list("gateway", flat=True))


def test_days_are_rolled_up_from_their_hours(cloudflare):
    account = demo(cloudflare)

    sync.sync_gateway_spend(account)

    days = GatewaySpendDay.objects.filter(account=account)
    assert days.values("day").distinct().count() >= 14
    one = days.filter(gateway="chat-app").order_by("day")[3]
    hours = GatewaySpendHour.objects.filter(
        account=account, gateway="chat-app", model=one.model, provider=one.provider, hour__date=one.day
    ).aggregate(cost=Sum("cost"), requests=Sum("requests"))
    assert (one.cost, one.requests) == (hours["cost"], hours["requests"])


def test_older_days_are_kept_as_they_are(cloudflare):
    account = demo(cloudflare)
    sync.sync_gateway_spend(account)
    oldest = GatewaySpendHour.objects.filter(account=account).order_by("hour").first().hour.date()
    kept = GatewaySpendDay.objects.create(
        account=account,
        day=oldest - timedelta(days=40),
        gateway="old",
        cost=Decimal("1.5"),
        synced_at=GatewaySpendHour.objects.first().synced_at,
    )

    sync.sync_gateway_spend(account)

    assert GatewaySpendDay.objects.get(pk=kept.pk).cost == Decimal("1.5")


def test_rule_windows_show_the_demo_near_and_exceeded_rules(cloudflare):
    prod = demo(cloudflare)
    labs = Account.objects.create(cloudflare_id=LABS[0], name=LABS[1])

    for account in (prod, labs):
        sync.run_units(SyncJob.USAGE, account)

    near = GatewayRule.objects.get(gateway__account=prod, rule_id="chat-weekly")
    assert near.state == RuleState.NEARLY_USED and Decimal(80) <= near.used_percent < 100
    exceeded = GatewayRule.objects.get(gateway__account=labs, rule_id="sonnet-daily")
    # The estimate may read a little under the limit Cloudflare holds; the refused requests tell.
    assert exceeded.state == RuleState.EXCEEDED and exceeded.used_percent >= Decimal("97.5")
    assert exceeded.resets_at > exceeded.computed_at


def test_a_token_without_analytics_read_fails_only_the_analytics_run(cloudflare):
    account = demo(cloudflare)
    cloudflare.configure(analytics_read=False)

    results = sync.run_units(SyncJob.USAGE, account)

    assert results[0].succeeded
    run = SyncRun.objects.get(account=account, job=SyncJob.GATEWAY_SPEND)
    assert run.outcome == SyncOutcome.FAILED and "Account Analytics: Read" in run.error
    assert SyncRun.objects.get(account=account, job=SyncJob.USAGE).outcome == SyncOutcome.SUCCEEDED
    assert Gateway.objects.filter(account=account).exists()


def test_one_graphql_request_per_account_per_usage_sync_once_backfilled(cloudflare):
    cloudflare.reset("demo")
    accounts = [Account.objects.create(cloudflare_id=cf_id, name=name) for cf_id, name in DEMO_ACCOUNTS]
    sync.run_job(SyncJob.USAGE, [a.pk for a in accounts])  # the settings, then the backfill split to fit

    for _ in range(2):
        cloudflare.clear_requests()
        sync.run_job(SyncJob.USAGE, [a.pk for a in accounts])
        assert len(graphql_calls(cloudflare)) == len(accounts)


def test_gateways_are_read_again_only_when_due(cloudflare, settings):
    account = demo(cloudflare)
    sync.run_units(SyncJob.USAGE, account)
    cloudflare.clear_requests()

    sync.run_units(SyncJob.USAGE, account)
    assert not [r for r in cloudflare.requests() if r["path"].endswith("/gateways")]

    settings.GATEWAYS_REFRESH_SECONDS = 0
    sync.run_units(SyncJob.USAGE, account)
    assert len([r for r in cloudflare.requests() if r["path"].endswith("/gateways")]) == 1
