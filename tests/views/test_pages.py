"""Browsing pages: what they show, their empty and stale states, and that they make no API call."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Account, AccountAccess, AlertEvent, AlertRule, AuditEntry, Role
from tests.support.history import seed_history, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_api(settings):
    # Any API call from a page view would fail loudly against this address.
    settings.CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4"
    settings.CLOUDFLARE_MAX_RETRIES = 0


def page(client, user, name, *args, **query):
    client.force_login(user)
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_overview_shows_each_account_with_its_figures(client, manager, account):
    seed_history(account, balance="1204.50")
    html = page(client, manager, "overview")
    assert "Acme Prod" in html
    assert "$1,204.50" in html
    assert "$50.00 below $20.00" in html
    assert "$500.00/month" in html
    assert "Data as of" in html
    assert "Stale data" not in html


def test_overview_shows_negative_balance_in_red_not_clamped(client, viewer, account):
    snapshot(account, "-1.35")
    html = page(client, viewer, "overview")
    assert '<span class="negative">-$1.35</span>' in html


def test_overview_warns_about_stale_data(client, viewer, account):
    snapshot(account, "10", minutes_ago=90)
    html = page(client, viewer, "overview")
    assert "Stale data" in html
    assert "Acme Prod" in html


def test_overview_lists_open_alerts(client, viewer, account):
    snapshot(account, "4.20")
    AlertEvent.objects.create(
        account=account, kind="low_balance", headline="Low balance: Acme Prod $4.20", opened_at=timezone.now()
    )
    html = page(client, viewer, "overview")
    assert "low balance" in html


def test_overview_empty_state_says_what_to_do(client, make_user):
    html = page(client, make_user("nobody"), "overview")
    assert "No accounts to show" in html
    assert "Ask an admin" in html


def _accounts(count: int, user) -> None:
    for number in range(count):
        account = Account.objects.create(cloudflare_id=uuid.uuid4().hex, name=f"Account {number}")
        AccountAccess.objects.create(user=user, account=account, role=Role.MANAGER)
        snapshot(account, f"{number}.50")
        AlertEvent.objects.create(
            account=account,
            kind="low_balance",
            rule=AlertRule.objects.get(account=None, kind="low_balance"),  # a rule with levels
            level=2,
            headline="low",
            opened_at=timezone.now(),
        )


@pytest.mark.parametrize("count", [2, 20])
def test_overview_queries_do_not_grow_with_accounts(client, make_user, count, django_assert_max_num_queries):
    user = make_user("many")
    _accounts(count, user)
    client.force_login(user)
    # 13 and 14: the person's time zone; the last completed sweep (read once, not on every account's row)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("overview"))
    assert response.content.decode().count("/accounts/") >= count


def test_overview_query_count_is_the_same_at_2_and_20_accounts(client, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for count in (2, 20):
        user = make_user(f"user{count}")
        _accounts(count, user)
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("overview"))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_account_page_shows_charts_cards_and_recent_topups(client, manager, account):
    seed_history(account)
    html = page(client, manager, "account", account.cloudflare_id)
    assert html.count('<svg class="chart"') == 2
    assert "Upcoming invoice" in html and "$12.40" in html
    assert "Visa •••• 4242" in html
    assert "Refresh now" in html and "Top up" in html
    assert "No top-ups from this portal yet" in html


def test_every_chart_on_the_account_page_has_a_table_or_text_equivalent(client, manager, account):
    seed_history(account)
    html = page(client, manager, "account", account.cloudflare_id)
    table = html[html.index("The balance as a table") : html.index("</details>")]
    today = timezone.now().date()
    assert f"<td>{today:%Y-%m-%d}</td>" in table and "$" in table
    usage = html[html.index("Usage per day as a table") :]
    usage = usage[: usage.index("</details>")]
    assert f"<td>{today:%Y-%m-%d} <span" in usage and "(still running)" in usage  # today's bar
    assert usage.count("<tr>") == 31  # the head and one row per bar of the chart
    assert "Usage details</a>" in html  # and the usage page has every day in its range


def test_account_page_for_a_new_account_has_empty_states(client, viewer, account):
    html = page(client, viewer, "account", account.cloudflare_id)
    assert "No balance history yet" in html
    assert "No usage recorded yet" in html
    assert "No data yet" in html
    assert "Refresh now" not in html  # viewers cannot sync


def test_usage_page_says_which_zone_its_days_use(client, viewer, account, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    seed_history(account)
    html = page(client, viewer, "usage", account.cloudflare_id)
    assert "UTC days" in html
    assert "Europe/Berlin" in html
    assert '<svg class="chart"' in html
    assert "so far" in html  # today's bucket is still running


def test_usage_by_hour(client, viewer, account):
    seed_history(account)
    html = page(client, viewer, "usage", account.cloudflare_id, window="hour")
    assert "Usage per hour" in html
    assert "$0.25" in html


def test_usage_csv_has_the_same_rows_as_the_table(client, viewer, account):
    seed_history(account, days=5)
    client.force_login(viewer)
    response = client.get(reverse("usage", args=[account.cloudflare_id]), {"format": "csv", "window": "day"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("account_id,account_name,bucket_start_utc,")
    assert len(lines) == 1 + 6  # five full days and today
    # Newest first, like the table.
    assert lines[1].endswith(",day,4.500000,yes")  # today: 4.50 + 0, still running
    assert lines[-1].endswith(",day,9.500000,no")  # five days ago: 4.50 + 5


def test_usage_empty_range(client, viewer, account):
    html = page(client, viewer, "usage", account.cloudflare_id)
    assert "No usage in this range" in html


def test_invoices_are_filtered_paginated_and_link_pdfs(client, viewer, account):
    seed_history(account)
    html = page(client, viewer, "invoices", account.cloudflare_id)
    assert "Page 1 of 2" in html
    assert "https://pay.example.com/in_000.pdf" in html
    auto = page(client, viewer, "invoices", account.cloudflare_id, type="auto")
    assert "Credit purchase 3<" in auto and "Credit purchase 1<" not in auto
    manual = page(client, viewer, "invoices", account.cloudflare_id, type="manual")
    assert "Credit purchase 1<" in manual and "Credit purchase 3<" not in manual


def test_invoices_empty_state(client, viewer, account):
    html = page(client, viewer, "invoices", account.cloudflare_id, type="auto")
    assert "No auto invoices yet" in html


def test_upcoming_invoice_shows_lines_and_credits(client, viewer, account):
    seed_history(account)
    html = page(client, viewer, "invoice_upcoming", account.cloudflare_id)
    assert "AI Gateway usage" in html
    assert "$14.40" in html
    assert "−$2.00" in html
    # The lines' total, what credit paid of it and what is left due.
    assert '<td class="num" id="lines-total"><strong>$14.40</strong></td>' in html
    assert "−$2.00 credits · <strong>$12.40</strong> left due" in html


def test_topups_page_lists_topups(client, viewer, account, manager):
    from billing.models import TopUp

    TopUp.objects.create(
        account=account,
        amount_cents=5000,
        fee_cents=250,
        status="completed",
        requested_at=timezone.now(),
        requested_by=manager,
    )
    html = page(client, viewer, "topups", account.cloudflare_id)
    assert "$50.00" in html and "completed" in html and "max-manager" in html


def test_audit_log_is_filterable(client, admin_user, account, manager):
    for action in ("topup.create", "auto_topup.set"):
        AuditEntry.objects.create(
            actor=manager,
            actor_name=manager.username,
            account=account,
            account_cloudflare_id=account.cloudflare_id,
            action=action,
            outcome="succeeded",
            parameters={"amount_cents": 1000},
        )
    html = page(client, admin_user, "audit")
    assert "Top-up" in html and "Auto top-up set" in html
    html = page(client, admin_user, "audit", action="auto_topup.set")
    assert "<td>Auto top-up set</td>" in html and "<td>Top-up</td>" not in html
    html = page(client, admin_user, "audit", person="nobody")
    assert "No entries match" in html


def test_balance_chart_draws_a_zero_line_when_the_balance_went_negative(client, viewer, account):
    snapshot(account, "5", minutes_ago=600)
    snapshot(account, "-3", minutes_ago=2)
    html = page(client, viewer, "account", account.cloudflare_id)
    assert 'class="zero"' in html
    assert '<span class="negative">-$3.00</span>' in html
