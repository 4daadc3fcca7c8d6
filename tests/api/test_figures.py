"""The API's figures are the pages' figures: the same functions read them, and they read the same."""

from datetime import UTC, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from billing.figures.series import balance_points
from billing.models import AlertEvent, GatewaySpendDay, GatewaySpendHour
from billing.money import format_money
from tests.support.api_fixtures import bearer
from tests.support.history import seed_history
from tests.support.people_fixtures import login


def _api(client, secret, path, **query):
    response = client.get(path, query, **bearer(secret))
    assert response.status_code == 200, response.content
    return response.json()


def _amount(money: dict) -> Decimal:
    assert money["currency"] == "USD"
    return Decimal(money["amount"])


def test_accounts_read_as_the_overview(client, viewer, account, make_token):
    seed_history(account, balance="1204.5")
    secret = make_token(viewer)
    login(client, viewer)
    row = client.get(reverse("overview")).context["rows"][0]
    listed = _api(client, secret, "/api/v1/accounts")
    assert len(listed) == 1
    api = listed[0]
    assert api["id"] == account.cloudflare_id and api["name"] == row["name"] and api["role"] == row["role"]
    assert api["balance"] == {"amount": "1204.50", "currency": "USD"}
    assert format_money(_amount(api["balance"])) == row["balance"] == "$1,204.50"
    assert format_money(_amount(api["spend_per_day"])) == row["spend_per_day"]
    assert api["data_as_of"].endswith("Z") and api["is_stale"] == row["stale"]
    assert _api(client, secret, f"/api/v1/accounts/{account.cloudflare_id}") == api


def test_balance_history_is_the_chart_s_series(client, viewer, account, make_token):
    seed_history(account)
    api = _api(client, make_token(viewer), f"/api/v1/accounts/{account.cloudflare_id}/balance", days=30)
    since = timezone.now() - timedelta(days=30)
    points = balance_points(account, since)
    assert len(api["points"]) == len(points) > 100
    assert [_amount(p["balance"]) for p in api["points"]] == [balance for _, balance in points]
    # ISO 8601 in UTC, to the millisecond (as Django's JSON encoder writes times).
    last = points[-1][0].astimezone(UTC)
    assert api["points"][-1]["at"] == last.replace(microsecond=last.microsecond // 1000 * 1000).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")


def test_usage_reads_as_the_usage_page(client, viewer, account, make_token):
    seed_history(account)
    secret = make_token(viewer)
    login(client, viewer)
    for query in ({}, {"window": "hour"}, {"window": "day", "start": "2026-02-01", "end": "2026-03-18"}):
        page = client.get(reverse("usage", args=[account.cloudflare_id]), query).context
        api = _api(client, secret, f"/api/v1/accounts/{account.cloudflare_id}/usage", **query)
        assert api["window"] == page["window"] and api["first"] == f"{page['first']:%Y-%m-%d}"
        assert _amount(api["total"]) == page["total"]
        # The page's table: newest first, one row per bucket, as the API's (oldest first).
        page_rows = [(row["value"], row["partial"]) for row in page["rows"]]
        api_rows = [(_amount(row["amount"]), row["partial"]) for row in reversed(api["rows"])]
        assert api_rows == page_rows[: len(api_rows)] and len(api_rows) == page["page"].paginator.count


def test_usage_with_bad_input_answers_400_naming_the_field(client, viewer, account, make_token):
    path = f"/api/v1/accounts/{account.cloudflare_id}/usage"
    response = client.get(path, {"window": "week", "start": "yesterday"}, **bearer(make_token(viewer)))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert set(detail) == {"window", "start"} and "neither" in detail["window"][0]


def _spend(account) -> None:
    now = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    for back in range(1, 60):
        hour = now - timedelta(hours=back)
        for gateway, model, provider, cost in (
            ("chat", "gpt-4o", "openai", "1.25"),
            ("batch", "m2", "x", "0.5"),
        ):
            row = {
                "account": account,
                "gateway": gateway,
                "model": model,
                "provider": provider,
                "synced_at": now,
            }
            GatewaySpendHour.objects.create(hour=hour, cost=Decimal(cost), requests=3, **row)
            day, _ = GatewaySpendDay.objects.get_or_create(day=hour.date(), defaults={"cost": 0}, **row)
            GatewaySpendDay.objects.filter(pk=day.pk).update(
                cost=day.cost + Decimal(cost), requests=day.requests + 3
            )


def test_spend_reads_as_the_breakdown_page(client, viewer, account, make_token):
    _spend(account)
    secret = make_token(viewer)
    login(client, viewer)
    path = f"/api/v1/accounts/{account.cloudflare_id}/spend"
    for query in ({}, {"range": "24h"}, {"range": "30d"}, {"range": "7d", "gateway": "chat"}):
        page = client.get(reverse("gateway_breakdown", args=[account.cloudflare_id]), query).context
        by_model = _api(client, secret, path, by="model,provider", **query)
        assert _amount(by_model["total"]) == page["total"] > 0
        assert [
            (g["model"], g["provider"], _amount(g["cost"]), g["counts"]["requests"])
            for g in by_model["groups"]
        ] == [(r["model"], r["provider"], r["total_cost"], r["total_requests"]) for r in page["by_model"]]
        by_provider = _api(client, secret, path, by="provider", **query)
        assert [(g["provider"], _amount(g["cost"])) for g in by_provider["groups"]] == [
            (r["provider"], r["total_cost"]) for r in page["by_provider"]
        ]
        assert by_model["range_meaning"] == page["spend"].range.meaning


def test_spend_by_an_unknown_field_answers_400(client, viewer, account, make_token):
    path = f"/api/v1/accounts/{account.cloudflare_id}/spend"
    response = client.get(path, {"by": "colour"}, **bearer(make_token(viewer)))
    assert response.status_code == 400 and "colour" in response.json()["detail"]["by"][0]
    response = client.get(path, {"range": "custom"}, **bearer(make_token(viewer)))
    assert response.status_code == 400 and set(response.json()["detail"]) == {"start", "end"}


def test_invoices_read_as_the_invoices_page(client, viewer, account, make_token):
    seed_history(account)
    secret = make_token(viewer)
    login(client, viewer)
    page = client.get(reverse("invoices", args=[account.cloudflare_id]), {"type": "auto"}).context["page"]
    api = _api(client, secret, f"/api/v1/accounts/{account.cloudflare_id}/invoices", type="auto", limit=25)
    assert api["count"] == page.paginator.count
    assert [row["id"] for row in api["items"]] == [invoice.invoice_id for invoice in page.object_list]
    first = page.object_list[0]
    assert _amount(api["items"][0]["amount_due"]) == first.amount_due
    upcoming = _api(client, secret, f"/api/v1/accounts/{account.cloudflare_id}/invoices/upcoming")
    assert _amount(upcoming["amount_due"]) == account.invoice_preview.amount_due


def test_alerts_open_and_past_read_as_the_account_page(client, viewer, account, make_token):
    seed_history(account, balance="3.00")
    now = timezone.now()
    AlertEvent.objects.create(account=account, kind="low_balance", headline="Balance $3.00", opened_at=now)
    AlertEvent.objects.create(
        account=account,
        kind="runway",
        headline="Runway 1 day",
        opened_at=now - timedelta(days=3),
        resolved_at=now - timedelta(days=2),
    )
    secret = make_token(viewer)
    login(client, viewer)
    shown = client.get(reverse("account", args=[account.cloudflare_id])).context["open_alerts"]
    path = f"/api/v1/accounts/{account.cloudflare_id}/alerts"
    open_ = _api(client, secret, path, state="open")
    assert open_["count"] == 1
    assert [(a["kind"], a["headline"], a["label"]) for a in open_["items"]] == [
        (s.event.kind, s.headline, s.label) for s in shown
    ]
    past = _api(client, secret, path, state="resolved")
    assert [a["kind"] for a in past["items"]] == ["runway"] and past["items"][0]["resolved_at"].endswith("Z")
    assert _api(client, secret, path)["count"] == 2
    assert client.get(path, {"limit": 1000}, **bearer(secret)).status_code == 422
