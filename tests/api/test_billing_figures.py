"""The API's billing figures are the pages' figures: an invoice with its lines, a period's usage invoice, the
reconciliation, the statement by cost center, the month with its budget and the totals across accounts, each
read by the same function as its page and compared with the page."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import sync
from billing.figures import refresh_summaries
from billing.models import CostCenter, InvoiceLine, TopUp
from billing.operations.topups import start_topup
from tests.support.api_fixtures import bearer
from tests.support.billed_usage import MODELS
from tests.support.history import seed_history
from tests.support.people_fixtures import grant, login

pytestmark = pytest.mark.django_db


def _api(client, secret, path, **query):
    response = client.get(path, query, **bearer(secret))
    assert response.status_code == 200, response.content
    return response.json()


def _amount(money: dict | None) -> Decimal | None:
    if money is None:
        return None
    assert money["currency"] == "USD"
    return Decimal(money["amount"])


def test_a_portal_top_up_s_invoice_has_its_credit_and_fee_lines(
    client, viewer, manager, account, cloudflare, make_token
):
    start_topup(account, manager, 2000, uuid.uuid4())
    cloudflare.advance(10)
    sync.sync_invoices(account)
    topup = TopUp.objects.get(account=account)
    path = f"/api/v1/accounts/{account.cloudflare_id}/invoices/{topup.payment_intent_id}"

    found = _api(client, make_token(viewer), path)

    assert found["id"] == topup.payment_intent_id
    assert [(line["description"], _amount(line["amount"])) for line in found["lines"]] == [
        ("AI Gateway credit", Decimal("20.00")),
        ("Purchase fee", Decimal("1.00")),  # 5 %, as the invoice page shows
    ]
    missing = client.get(path.replace(topup.payment_intent_id, "in_nope"), **bearer(make_token(viewer)))
    assert missing.status_code == 404


def test_an_invoice_the_portal_did_not_start_has_no_lines(client, viewer, account, make_token):
    seed_history(account)
    found = _api(client, make_token(viewer), f"/api/v1/accounts/{account.cloudflare_id}/invoices/in_003")
    assert found["type"] == "auto" and _amount(found["amount_due"]) == 50 and found["lines"] == []


def test_the_usage_invoice_has_the_page_s_lines(client, viewer, account, itemised_month, make_token):
    period = InvoiceLine.objects.periods(account)[0]
    path = f"/api/v1/accounts/{account.cloudflare_id}/invoices/usage/{period.slug}"

    found = _api(client, make_token(viewer), path)

    assert {line["model"] for line in found["lines"]} == MODELS
    assert _amount(found["amount"]) == Decimal("80.00") == _amount(found["credited"])  # paid by credit
    assert _amount(found["due"]) == 0 and found["period"]["slug"] == period.slug
    bad = client.get(path.replace(period.slug, "2001-01-01"), **bearer(make_token(viewer)))
    assert bad.status_code == 404


def test_reconciliation_reads_as_its_page(client, viewer, account, itemised_month, make_token):
    login(client, viewer)
    page = client.get(reverse("reconciliation", args=[account.cloudflare_id])).context["reconciliation"]

    found = _api(client, make_token(viewer), f"/api/v1/accounts/{account.cloudflare_id}/reconciliation")

    assert found["period"]["slug"] == found["periods"][0]["slug"]
    assert [
        (r["model"], _amount(r["billed"]), _amount(r["estimate"]), r["flagged"]) for r in found["rows"]
    ] == [(row.model, row.billed, row.estimate, row.flagged) for row in page.rows]
    assert _amount(found["billed"]) == page.billed == Decimal("80.00")
    assert {row["model"] for row in found["rows"]} == MODELS


def test_the_statement_reads_as_its_page_and_sums_to_billed_usage(
    client, viewer, account, itemised_month, make_token
):
    CostCenter.objects.create(account=account, name="Chat", gateways=["chat-app"])
    login(client, viewer)
    page = client.get(reverse("statement", args=[account.cloudflare_id])).context["statement"]
    path = f"/api/v1/accounts/{account.cloudflare_id}/statement"

    found = _api(client, make_token(viewer), path, period=page.usage.period_start.date().isoformat())

    assert [(row["name"], row["kind"], _amount(row["amount"])) for row in found["rows"]] == [
        (row.name, "named" if row.named else "cost_center", row.amount) for row in page.rows
    ]
    assert _amount(found["total"]) == sum(_amount(row["amount"]) for row in found["rows"]) == Decimal("80.00")
    assert _amount(found["rows"][0]["amount"]) > 0  # Chat's gateway carries usage
    centers = _api(client, make_token(viewer), f"/api/v1/accounts/{account.cloudflare_id}/cost-centers")
    assert centers == [{"name": "Chat", "gateways": ["chat-app"], "only_models": [], "only_providers": []}]


def test_without_invoice_lines_the_period_figures_say_so(client, viewer, account, make_token):
    for name in ("reconciliation", "statement"):
        found = _api(client, make_token(viewer), f"/api/v1/accounts/{account.cloudflare_id}/{name}")
        assert found["period"] is None and found["periods"] == [] and found["rows"] == []
    missing = client.get(
        f"/api/v1/accounts/{account.cloudflare_id}/statement",
        {"period": "someday"},
        **bearer(make_token(viewer)),
    )
    assert missing.status_code == 404


def test_month_and_budget_read_as_the_budget_page(client, viewer, account, make_token):
    seed_history(account)
    account.monthly_budget = Decimal(100)
    account.save()
    refresh_summaries([account])
    login(client, viewer)
    page = client.get(reverse("budget", args=[account.cloudflare_id])).context

    found = _api(client, make_token(viewer), f"/api/v1/accounts/{account.cloudflare_id}/month")

    assert found["start"] == page["month"].start.isoformat()
    assert _amount(found["to_date"]) == page["month"].to_date > 0
    assert _amount(found["forecast"]) == page["month"].forecast and found["forecast_note"] == ""
    assert _amount(found["budget"]["amount"]) == page["budget"].amount == 100
    assert Decimal(found["budget"]["forecast_percent"]) == page["budget"].forecast_percent


def test_totals_read_as_the_overview(client, viewer, account, other_account, make_token):
    grant(viewer, other_account, "viewer")
    seed_history(account)
    seed_history(other_account, balance="10.00")
    refresh_summaries([account, other_account])
    login(client, viewer)
    page = client.get(reverse("overview")).context["totals"]

    found = _api(client, make_token(viewer), "/api/v1/totals")

    assert found["accounts"] == page.accounts == 2 and found["with_balance"] == page.with_balance
    assert _amount(found["balance"]) == page.balance == Decimal("130.50")
    assert _amount(found["month_to_date"]) == page.month_to_date
    assert (
        _amount(found["forecast"]) == page.forecast and found["forecast_complete"] == page.forecast_complete
    )
    limited = _api(client, make_token(viewer, accounts=[other_account]), "/api/v1/totals")
    assert limited["accounts"] == 1 and _amount(limited["balance"]) == Decimal("10.00")
