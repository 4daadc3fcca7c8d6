"""The ledger page, its CSV and its print view, and the overview's flag: read from the rows
billing/figures/ledger.py builds out of local snapshots, usage and invoices, with no API call."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.figures import ledger
from billing.models import Account, AccountAccess, Role
from tests.support.history import ledger_history, snapshot, utc_midnight

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_api(settings):
    # Any API call from a page view would fail loudly against this address.
    settings.CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4"
    settings.CLOUDFLARE_MAX_RETRIES = 0


def get(client, user, name, account, **query):
    client.force_login(user)
    return client.get(reverse(name, args=[account.cloudflare_id]), query)


def test_the_ledger_page_shows_each_day_and_flags_the_one_that_does_not_balance(client, viewer, account):
    ledger_history(account)

    html = get(client, viewer, "ledger", account, month=f"{utc_midnight(4):%Y-%m}").content.decode()

    assert f'id="ledger-{utc_midnight(5):%Y-%m-%d}"' in html
    assert "in_auto1" in html
    assert "the balance fell $5.00 more than the billed usage and credit explain" in html
    assert 'id="ledger-unbalanced"' in html
    assert "Month by month" in html
    # No empty months before the first ledger day (the history starts days ago).
    months = re.findall(r'href="\?month=(\d{4}-\d{2})"', html)
    assert months == sorted({f"{utc_midnight(n):%Y-%m}" for n in range(7)})[::-1]


def test_the_csv_parses_and_adds_up(client, viewer, account):
    ledger_history(account)

    response = get(client, viewer, "ledger", account, month=f"{utc_midnight(5):%Y-%m}", format="csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    days = {r["day_or_month_utc"]: r for r in rows if r["row"] == "day"}
    balanced = days[f"{utc_midnight(5):%Y-%m-%d}"]
    assert (balanced["opening_usd"], balanced["auto_topups_usd"], balanced["billed_usage_usd"]) == (
        "100.00",
        "20.00",
        "10.00",
    )
    assert (balanced["expected_closing_usd"], balanced["observed_closing_usd"], balanced["state"]) == (
        "110.00",
        "110.00",
        "balanced",
    )
    short = days[f"{utc_midnight(4):%Y-%m-%d}"]
    assert (short["difference_usd"], short["state"]) == ("-5.00", "unexplained")
    months = [r for r in rows if r["row"] == "month"]
    assert [r["day_or_month_utc"] for r in months] == sorted({f"{utc_midnight(n):%Y-%m}" for n in range(7)})[
        ::-1
    ]
    assert sum(r["reason"].startswith("1 day not balancing") for r in months) == 1
    assert response["Content-Disposition"].startswith('attachment; filename="ledger-')


def test_the_print_view_has_the_month_and_no_navigation(client, viewer, account):
    ledger_history(account)

    html = get(client, viewer, "ledger_print", account, month=f"{utc_midnight(4):%Y-%m}").content.decode()

    assert 'class="topbar"' not in html and 'class="subnav' not in html
    assert "ledger for" in html and "in_auto1" in html


def test_a_month_that_is_not_one_is_said_plainly(client, viewer, account):
    response = get(client, viewer, "ledger", account, month="=2026-99")

    assert response.status_code == 200
    assert "is not a month (YYYY-MM): showing this month." in response.content.decode()


def test_someone_without_access_gets_not_found(client, make_user, account):
    response = get(client, make_user("olly-outsider"), "ledger", account)
    assert response.status_code == 404


def test_the_overview_flags_an_account_whose_ledger_does_not_balance(client, viewer, account):
    ledger_history(account)
    client.force_login(viewer)

    html = client.get(reverse("overview")).content.decode()

    assert f"ledger: {utc_midnight(4):%b %-d}" in html
    assert f"ledger/?month={utc_midnight(4):%Y-%m}#ledger-{utc_midnight(4):%Y-%m-%d}" in html


def test_the_ledger_page_costs_the_same_queries_whatever_the_number_of_accounts(client, viewer, account):
    ledger_history(account)
    client.force_login(viewer)
    url = reverse("ledger", args=[account.cloudflare_id])
    client.get(url)  # the session and the first-request caches

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for number in range(30):
        other = Account.objects.create(cloudflare_id=f"{number:032x}", name=f"Team {number}")
        AccountAccess.objects.create(user=viewer, account=other, role=Role.VIEWER)
        snapshot(other, "50", at=utc_midnight(4))
        ledger.rebuild(other, since=utc_midnight(5).date())
    with CaptureQueriesContext(connection) as many:
        client.get(url)

    assert len(many) == len(few)
