"""Totals across accounts on the overview and in the accounts CSV; the month card and the budget page."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.figures import refresh_summaries
from billing.models import Account, AccountAccess, AuditEntry, Role
from tests.support.history import day_usage, snapshot, utc_midnight
from tests.support.people_fixtures import login

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def _accounts(user, count: int, history_days: int = 10) -> list[Account]:
    accounts = []
    first = Account.objects.count()
    for number in range(count):
        account = Account.objects.create(cloudflare_id=f"{first + number + 1:032x}", name=f"Team {number}")
        AccountAccess.objects.create(user=user, account=account, role=Role.ADMIN)
        snapshot(account, "100")
        for days_ago in range(1, history_days + 1):
            day_usage(account, utc_midnight(days_ago), "10")
        accounts.append(account)
    refresh_summaries(accounts)
    return accounts


def test_the_overview_totals_every_account_and_the_csv_says_the_same(client, make_user):
    user = make_user("finance")
    with time_machine.travel(NOON, tick=False):
        _accounts(user, 3)
        html = login(client, user).get(reverse("overview")).content.decode()
        response = client.get(reverse("accounts_csv"))
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert "Across your 3 accounts" in html
    assert "$300.00" in html  # the balances, and the month so far: ten $10 days each
    forecast = 3 * (Decimal(100) + Decimal(10) * Decimal("14.5"))
    assert f"${forecast:,.2f}" in html
    assert [row["name"] for row in rows] == ["Team 0", "Team 1", "Team 2", "Total of 3 accounts"]
    assert Decimal(rows[-1]["month_to_date_billed_usd"]) == sum(
        Decimal(row["month_to_date_billed_usd"]) for row in rows[:-1]
    )
    assert Decimal(rows[-1]["month_forecast_usd"]) == forecast
    assert Decimal(rows[-1]["balance_usd"]) == Decimal(300)


def test_an_account_with_too_little_history_says_so_instead_of_a_forecast(client, make_user):
    user = make_user("finance")
    with time_machine.travel(NOON, tick=False):
        (account,) = _accounts(user, 1, history_days=3)
        html = login(client, user).get(reverse("account", args=[account.cloudflare_id])).content.decode()
        overview = client.get(reverse("overview")).content.decode()
    assert "Not enough history to forecast: 3 complete days of usage, 7 needed." in html
    assert "not enough history to forecast" in overview


def test_overview_and_csv_queries_are_the_same_at_2_and_12_accounts(client, make_user):
    counts = []
    for count in (2, 12):
        user = make_user(f"user{count}")
        _accounts(user, count, history_days=8)
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("overview"))
            b"".join(client.get(reverse("accounts_csv")).streaming_content)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_an_admin_sets_the_budget_audited_and_the_account_page_shows_the_forecast_against_it(
    client, make_user
):
    user = make_user("boss")
    with time_machine.travel(NOON, tick=False):
        (account,) = _accounts(user, 1)
        login(client, user)
        response = client.post(reverse("budget", args=[account.cloudflare_id]), {"amount": "$200"})
        assert response.status_code == 302
        html = client.get(reverse("account", args=[account.cloudflare_id])).content.decode()
    account.refresh_from_db()
    assert account.monthly_budget == Decimal(200)
    entry = AuditEntry.objects.get(action="budget.set")
    assert entry.parameters == {"budget_before": None, "budget_after": "200.00"}
    assert "Forecast for the month: <strong>$245.00</strong>" in html
    assert "forecast over budget" in html


def test_only_admins_set_a_budget_and_bad_amounts_say_why(client, viewer, admin_user, account):
    url = reverse("budget", args=[account.cloudflare_id])
    assert login(client, viewer).post(url, {"amount": "50"}).status_code == 403
    assert client.get(url).status_code == 200
    response = login(client, admin_user).post(url, {"amount": "-5"})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    account.refresh_from_db()
    assert account.monthly_budget is None
