"""The Gateways tab, the spend breakdown and the summary's "where the money goes": local tables only."""

import uuid
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import sync
from billing.models import (
    Account,
    AccountAccess,
    Gateway,
    GatewayRule,
    GatewaySpendDay,
    GatewaySpendHour,
    Role,
    SyncJob,
    SyncOutcome,
    SyncRun,
)
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db


def demo_accounts(cloudflare, user, which=(0, 2)) -> list[Account]:
    cloudflare.reset("demo")
    accounts = []
    for index in which:
        cf_id, name = DEMO_ACCOUNTS[index]
        account = Account.objects.create(cloudflare_id=cf_id, name=name)
        AccountAccess.objects.create(user=user, account=account, role=Role.MANAGER)
        sync.run_units(SyncJob.ACCOUNT, account)
        accounts.append(account)
    return accounts


def get(client, name, account, query="") -> str:
    response = client.get(reverse(name, args=[account.cloudflare_id]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_gateways_tab_shows_spend_rules_and_the_exceeded_rule_without_calling_the_api(
    client, make_user, cloudflare
):
    user = make_user("ana")
    prod, labs = demo_accounts(cloudflare, user)
    client.force_login(user)
    cloudflare.clear_requests()

    html = get(client, "gateways", prod)
    labs_html = get(client, "gateways", labs)

    assert cloudflare.requests() == []
    assert "chat-app" in html and "batch-jobs" in html and "chat-weekly" in html
    assert "nearly used" in html and "7 days" in html
    # A sliding window frees up gradually, with no reset time: the same words here, on the rules page and
    # in the email (display.rule_resets).
    assert "gradually, as spend turns 7 days old" in html
    rules_page = client.get(reverse("gateway_rules", args=[prod.cloudflare_id, "chat-app"])).content.decode()
    assert "gradually, as spend turns" in rules_page and "sliding</td>" not in rules_page
    assert "sonnet-daily" in labs_html and "exceeded" in labs_html
    assert "requests are being refused (HTTP 429)" in labs_html
    assert 'aria-current="page">Gateways' in html
    assert "style=" not in html and "<script>" not in html


def test_gateways_are_listed_costliest_first(client, make_user, cloudflare):
    user = make_user("ana")
    (prod,) = demo_accounts(cloudflare, user, which=(0,))
    client.force_login(user)
    response = client.get(reverse("gateways", args=[prod.cloudflare_id]))
    html = response.content.decode()

    longest = [dict(row["costs"])["30d"] for row in response.context["rows"]]
    names = [row["gateway"].gateway_id for row in response.context["rows"]]
    assert len(set(longest)) >= 2 and longest == sorted(longest, reverse=True)
    shown = [html.index(f"<strong>{name}</strong>") for name in names]
    assert shown == sorted(shown)


def test_breakdown_by_model_and_provider_with_chart_table_and_csv(client, make_user, cloudflare):
    user = make_user("ana")
    (prod,) = demo_accounts(cloudflare, user, which=(0,))
    client.force_login(user)
    cloudflare.clear_requests()

    html = get(client, "gateway_breakdown", prod, "?range=7d")
    older = get(client, "gateway_breakdown", prod, "?range=90d")
    csv = client.get(reverse("gateway_breakdown", args=[prod.cloudflare_id]) + "?range=30d&format=csv")

    assert cloudflare.requests() == []
    assert html.count('<svg class="chart"') == 3
    assert "gpt-4o-mini" in html and "anthropic" in html and "hourly history" in html
    assert "daily history" in older
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0].startswith("range_start_utc,range_end_utc,source,gateway,model,provider")
    assert any(",chat-app,claude-sonnet-4,anthropic," in line for line in lines[1:])
    cost_at = lines[0].split(",").index("estimated_cost_usd")
    costs = [line.split(",")[cost_at] for line in lines[1:]]
    assert costs and all(
        len(cost.partition(".")[2]) == 6 for cost in costs
    )  # six places, stated in the README


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?range=custom&end=2026-01-02", "From", "Pick the first day"),
        ("?range=custom&start=2026-03-02&end=2026-03-01", "To", "before the first day"),
        ("?range=custom&start=2001-01-01&end=2001-01-02", "From", "goes back 13 months"),
        ("?range=week", "Range", "Select a valid choice"),
    ],
)
def test_breakdown_range_errors_name_the_field(client, manager, account, query, field, message):
    client.force_login(manager)
    html = get(client, "gateway_breakdown", account, query)
    assert "The range was not changed" in html and f"<strong>{field}" in html and message in html


def test_empty_states_say_what_to_do_next(client, manager, account):
    client.force_login(manager)
    assert "No gateways yet" in get(client, "gateways", account)
    now = timezone.now()
    SyncRun.objects.create(
        job=SyncJob.GATEWAY_SPEND,
        account=account,
        started_at=now,
        finished_at=now,
        outcome=SyncOutcome.FAILED,
        error='the API token lacks "Account Analytics: Read": add that permission',
    )
    for name in ("gateways", "account", "gateway_breakdown"):
        assert "lacks <strong>Account Analytics: Read</strong>" in get(client, name, account)
    assert "No spend by gateway yet" in get(client, "account", account)


def test_summary_shows_where_the_money_goes_and_billed_vs_estimate(client, make_user, cloudflare):
    user = make_user("ana")
    (prod,) = demo_accounts(cloudflare, user, which=(0,))
    client.force_login(user)
    cloudflare.clear_requests()

    html = get(client, "account", prod)

    assert cloudflare.requests() == []
    assert "Where the money goes" in html and "chat-app" in html and "gpt-4o" in html
    assert "Billed usage vs the analytics estimate" in html
    assert "Cloudflare&#x27;s analytics estimate from model pricing, not the invoice" in html or (
        "Cloudflare's analytics estimate from model pricing, not the invoice" in html
    )


def _local_gateways(user, count: int) -> Account:
    """`count` accounts with a gateway, a rule and some spend each; returns the first."""
    now = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = None
    for number in range(count):
        account = Account.objects.create(cloudflare_id=uuid.uuid4().hex, name=f"Team {number}")
        AccountAccess.objects.create(user=user, account=account, role=Role.MANAGER)
        snapshot(account, "10.00")
        for name in ("app", "batch"):
            gateway = Gateway.objects.create(account=account, gateway_id=name, synced_at=now)
            GatewayRule.objects.create(gateway=gateway, limit=Decimal(10), window_seconds=86400)
            for back in range(3):
                hour = now - timedelta(hours=back)
                row = {"account": account, "gateway": name, "model": "m", "provider": "p", "synced_at": now}
                GatewaySpendHour.objects.create(hour=hour, cost=Decimal(1), requests=5, **row)
                GatewaySpendDay.objects.get_or_create(day=hour.date(), defaults={"cost": 1, **row}, **row)
        first = first or account
    return first


@pytest.mark.parametrize("name", ["gateways", "gateway_breakdown", "account"])
def test_query_counts_are_the_same_at_2_and_12_accounts(client, make_user, name):
    counts = []
    for count in (2, 12):
        user = make_user(f"user{count}")
        account = _local_gateways(user, count)
        client.force_login(user)
        get(client, name, account)  # warm the per-process caches
        with CaptureQueriesContext(connection) as queries:
            get(client, name, account)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_where_the_money_goes_sums_agree_with_sql_by_gateway_and_by_model(make_user, cloudflare):
    from billing.figures.gateway_spend import preset
    from billing.views.account import TOP, where_the_money_goes

    user = make_user("ana")
    (prod,) = demo_accounts(cloudflare, user, which=(0,))
    with time_machine.travel(timezone.now(), tick=False):
        span = preset("30d", timezone.now())
        figures = where_the_money_goes(prod, [], timezone.now() - timedelta(days=30))
    # The demo's hours: every day of the range the sync read (the days are rolled up from them).
    hours = GatewaySpendHour.objects.filter(account=prod, hour__gte=span.start, hour__lt=span.end)

    def in_sql(*fields: str) -> list[tuple]:
        groups = hours.values(*fields).annotate(cost=Sum("cost"), requests=Sum("requests"))
        rows = groups.order_by("-cost", *fields)[:TOP]
        return [(*(row[name] for name in fields), cents(row["cost"]), row["requests"]) for row in rows]

    def shown(groups: list[dict], *fields: str) -> list[tuple]:
        return [(*(g[name] for name in fields), cents(g["total_cost"]), g["total_requests"]) for g in groups]

    assert shown(figures["top_gateways"], "gateway") == in_sql("gateway")
    assert shown(figures["top_models"], "model", "provider") == in_sql("model", "provider")
    assert len(figures["top_models"]) >= 3


def cents(amount: Decimal) -> Decimal:
    # SQLite sums decimals as floats: the two sums agree to far below a cent, not always to the last place.
    return Decimal(amount).quantize(Decimal("0.01"))
