"""Figures stored per account when its data changes (AccountSummary), and the pages that read them: the
overview in a fixed number of queries, the balance chart thinned by the database, a year of hourly usage."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import display, figures, sync
from billing.figures.series import MAX_LINE_POINTS, balance_points, range_bounds
from billing.models import (
    Account,
    AccountAccess,
    AccountSummary,
    AlertEvent,
    BalanceSnapshot,
    Role,
    SpendingLimit,
    UsageRecord,
)
from billing.views import usage as usage_view
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.history import seed_history, snapshot

pytestmark = pytest.mark.django_db


def _live(account) -> figures.AccountFigures:
    return figures.figures_for(account)


# --- refreshed by sync ------------------------------------------------------------------------------------
def test_balance_sync_stores_the_figures_and_a_later_one_replaces_them(cloudflare):
    cloudflare.put_account("1" * 32, name="Team", balance=12345)
    account = Account.objects.create(cloudflare_id="1" * 32, name="Team")

    run = sync.sync_balance(account)

    summary = AccountSummary.objects.get(account=account)
    assert summary.balance == Decimal("123.45")
    assert summary.data_as_of == run.finished_at
    assert figures.stored_figures([account])[account.pk] == _live(account)

    cloudflare.put_account("1" * 32, name="Team", balance=-250)
    run = sync.sync_balance(account)

    summary.refresh_from_db()
    assert summary.balance == Decimal("-2.5")
    assert summary.data_as_of == run.finished_at
    assert AccountSummary.objects.count() == 1
    account = Account.objects.get(pk=account.pk)  # not the one holding the first summary
    assert figures.stored_figures([account])[account.pk] == _live(account)


def test_a_balance_sync_keeps_fresh_spend_figures_and_recomputes_old_ones(account):
    seed_history(account)
    figures.refresh_summary(account)
    before = AccountSummary.objects.get(account=account)
    # New usage the summary has not seen, and a new balance.
    UsageRecord.objects.filter(account=account, window="day").update(value=Decimal(100))
    snapshot(account, "99.00")
    data_as_of = timezone.now()

    figures.refresh_balance(account, data_as_of)

    after = AccountSummary.objects.get(account=account)
    assert (after.balance, after.data_as_of) == (Decimal("99.00"), data_as_of)
    assert after.spend_per_day == before.spend_per_day and after.computed_at == before.computed_at
    assert after.runway_days == figures.runway(Decimal("99.00"), before.spend_per_day)

    AccountSummary.objects.filter(account=account).update(computed_at=timezone.now() - timedelta(hours=2))
    figures.refresh_balance(account, data_as_of)

    after = AccountSummary.objects.get(account=account)
    assert after.spend_per_day == _live(account).spend_per_day != before.spend_per_day


def test_usage_sync_and_the_sync_command_refresh_the_stored_spend(cloudflare):
    cloudflare.reset("demo")
    account = Account.objects.create(cloudflare_id=DEMO_ACCOUNTS[0][0], name="Acme Prod")
    sync.sync_balance(account)
    assert AccountSummary.objects.get(account=account).spend_per_day is None  # no usage synced yet

    sync.sync_usage(account)

    stored = AccountSummary.objects.get(account=account)
    assert stored.spend_per_day is not None and stored.spend_per_day > 0
    assert stored.spend_per_day == _live(account).spend_per_day

    AccountSummary.objects.all().delete()
    from django.core.management import call_command

    call_command("sync", "--account", account.cloudflare_id)
    assert AccountSummary.objects.filter(account=account).exists()


def test_a_failed_sync_stores_nothing(cloudflare):
    cloudflare.put_account("2" * 32, name="Team", balance=500)
    account = Account.objects.create(cloudflare_id="2" * 32, name="Team")
    cloudflare.add_fault(path_contains="credit-balance", status=401, count=None)

    sync.sync_balance(account)

    assert not AccountSummary.objects.exists()


# --- read by the pages ------------------------------------------------------------------------------------
def test_stored_figures_equal_the_live_ones_after_a_refresh(account):
    seed_history(account)
    figures.refresh_summary(account)
    account = Account.objects.select_related("summary", "spending_limit").get(pk=account.pk)
    with CaptureQueriesContext(connection) as queries:
        stored = figures.stored_figures([account])[account.pk]
    assert len(queries) == 0
    assert stored == _live(account)
    assert stored.limit_used_percent is not None and stored.spend_per_day > 0


def test_the_overview_shows_the_stored_figures_not_a_recomputation(client, manager, account):
    seed_history(account, balance="1204.50")
    figures.refresh_summary(account)
    # Written behind the summary's back, as no portal code does: the overview keeps the stored figures.
    BalanceSnapshot.objects.create(account=account, taken_at=timezone.now(), balance=Decimal("7.00"))
    client.force_login(manager)
    html = client.get(reverse("overview")).content.decode()
    assert "$1,204.50" in html and "$7.00" not in html
    assert "$500.00/month" in html


# A moment whose month so far puts seed_history's spend at 13.6 % of a $1,000 limit: a fraction of .5 or more,
# where a percent rounded half up (14 %) and the page's, rounded down (13 %), differ.
MID_MARCH = datetime(2026, 3, 19, 12, 30, tzinfo=UTC)


@time_machine.travel(MID_MARCH, tick=False)
def test_a_summary_for_another_spending_limit_is_not_used(client, manager, account, settings):
    settings.TIME_ZONE = "UTC"  # the month of the limit's fixed window
    seed_history(account)
    figures.refresh_summary(account)
    SpendingLimit.objects.filter(account=account).update(amount=Decimal(1000))
    stored = figures.stored_figures([Account.objects.get(pk=account.pk)])[account.pk]
    assert stored == _live(account)
    assert stored.limit_used_percent % 1 >= Decimal("0.5")  # the case this test is about
    client.force_login(manager)
    html = client.get(reverse("overview")).content.decode()
    assert "$1,000.00/month" in html
    assert display.percent(stored.limit_used_percent) in html


def test_an_account_without_a_summary_is_computed_from_its_history(client, viewer, account):
    snapshot(account, "42.10")
    assert not AccountSummary.objects.exists()
    client.force_login(viewer)
    html = client.get(reverse("overview")).content.decode()
    assert "$42.10" in html and "Stale data" not in html


def test_staleness_is_decided_when_read(account, settings):
    snapshot(account, "10", minutes_ago=5)
    figures.refresh_summary(account)
    account = Account.objects.select_related("summary", "spending_limit").get(pk=account.pk)
    assert not figures.stored_figures([account])[account.pk].is_stale
    later = timezone.now() + timedelta(minutes=settings.STALE_AFTER_MINUTES)
    assert figures.stored_figures([account], now=later)[account.pk].is_stale


def _accounts(count: int, user, *, summaries: bool) -> None:
    for number in range(count):
        account = Account.objects.create(cloudflare_id=uuid.uuid4().hex, name=f"Account {number}")
        AccountAccess.objects.create(user=user, account=account, role=Role.MANAGER)
        seed_history(account, days=3, balance=f"{number}.50")
        AlertEvent.objects.create(
            account=account, kind="low_balance", headline="low", opened_at=timezone.now()
        )
        if summaries:
            figures.refresh_summary(account)


@pytest.mark.parametrize("summaries", [True, False])
def test_overview_query_count_is_constant(client, make_user, summaries):
    counts = []
    for count in (2, 12):
        user = make_user(f"user{count}")
        _accounts(count, user, summaries=summaries)
        client.force_login(user)
        client.get(reverse("overview"))
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("overview")).content.decode()
        assert html.count("$50.00 below $20.00") == count
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # Session, person, access generation (a removed person is signed out), second factor, accounts with their
    # summaries, open alerts, whether the person administers an account (the People link), the ledger's
    # flags, the person's time zone, the last completed sweep (and, before any, the oldest account); three
    # more only to compute missing summaries.
    assert counts[0] <= (11 if summaries else 14)


# --- the balance chart ------------------------------------------------------------------------------------
def test_balance_points_are_thinned_by_the_database_as_evenly_as_in_python(account):
    now = timezone.now()
    BalanceSnapshot.objects.bulk_create(
        BalanceSnapshot(account=account, taken_at=now - timedelta(minutes=5 * n), balance=Decimal(n))
        for n in range(1000)
    )
    since = now - timedelta(days=30)
    every = list(
        BalanceSnapshot.objects.filter(account=account)
        .order_by("taken_at")
        .values_list("taken_at", "balance")
    )
    step = -(-len(every) // 100)
    expected = every[::step]
    if expected[-1] != every[-1]:
        expected.append(every[-1])

    assert balance_points(account, since, limit=100) == expected
    assert balance_points(account, since, limit=5000) == every
    assert len(balance_points(account, since)) <= MAX_LINE_POINTS + 1


# --- usage over a year of hours ---------------------------------------------------------------------------
def _hours(account, days: int) -> Decimal:
    """An hour row (and the day's row) for every hour of `days` days up to now; returns their total."""
    now = timezone.now()
    top = now.replace(minute=0, second=0, microsecond=0)
    rows = [
        UsageRecord(
            account=account,
            window="hour",
            start=top - timedelta(hours=n),
            end=top - timedelta(hours=n - 1),
            summary_id=f"h{n}",
            value=Decimal("0.010000") + Decimal(n % 5) / 1000,
            synced_at=now,
        )
        for n in range(days * 24)
    ]
    UsageRecord.objects.bulk_create(rows)
    return sum((row.value for row in rows), Decimal(0))


def test_usage_by_hour_over_a_year_draws_few_bars_and_pages_the_table(client, viewer, account, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    _hours(account, 400)
    today = timezone.localdate()
    first = today - timedelta(days=364)
    client.force_login(viewer)
    response = client.get(
        reverse("usage", args=[account.cloudflare_id]),
        {"window": "hour", "start": str(first), "end": str(today)},
    )
    html = response.content.decode()
    assert response.context["first"] == first  # not cut to a fortnight
    assert "Each bar of the chart is 24 hours" in html and "Europe/Berlin" in html
    assert html.count('<rect class="bar') <= usage_view.MAX_BARS
    assert response.context["page"].paginator.count >= 364 * 24
    assert len(response.context["rows"]) == usage_view.TABLE_ROWS["hour"]
    assert "Page 1 of" in html and "Older ›" in html


def test_summed_hour_bars_add_up_to_the_hours_they_cover(client, viewer, account):
    _hours(account, 40)
    today = timezone.localdate()
    first = today - timedelta(days=29)
    client.force_login(viewer)
    response = client.get(
        reverse("usage", args=[account.cloudflare_id]),
        {"window": "hour", "start": str(first), "end": str(today)},
    )
    assert "Usage per 2 hours" in response.content.decode()
    start, end = range_bounds("hour", first, today)
    expected = sum(
        UsageRecord.objects.filter(
            account=account, window="hour", start__gte=start, start__lt=end
        ).values_list("value", flat=True),
        Decimal(0),
    )
    assert response.context["total"] == expected


def test_csv_streams_every_hour_of_the_range(client, viewer, account):
    _hours(account, 400)
    today = timezone.localdate()
    client.force_login(viewer)
    response = client.get(
        reverse("usage", args=[account.cloudflare_id]),
        {"window": "hour", "start": str(today - timedelta(days=365)), "end": str(today), "format": "csv"},
    )
    assert response.streaming
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    start, end = range_bounds("hour", today - timedelta(days=365), today)
    stored = UsageRecord.objects.filter(account=account, window="hour", start__gte=start, start__lt=end)
    assert len(lines) == 1 + stored.count() > 365 * 24
    assert lines[1] > lines[-1]  # newest first, like the page
