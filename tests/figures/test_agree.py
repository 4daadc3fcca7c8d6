"""One figure, one value (rules 1, 2, 9, 11): what an alert, its email and the pages say of the same account
agree, an open alert reads today's figures, codes are words, and the balance chart marks every arrival."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.figures import refresh_summary
from billing.models import (
    AlertEvent,
    AlertKind,
    BalanceSnapshot,
    InvoicePreview,
    InvoicePreviewLine,
    TopUp,
    TopUpStatus,
)
from billing.pipeline import evaluate_alerts
from tests.support.alert_scenarios import ninety_of_a_hundred_spent
from tests.support.alerts import BASE, deliver, only_rule
from tests.support.history import day_usage, snapshot, utc_midnight

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4"  # a page calling the API fails loudly


def html_of(client, user, name, *args):
    client.force_login(user)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_runway_reads_the_same_on_the_card_the_overview_the_alert_and_the_email(
    client, account, manager, smtp_server
):
    only_rule(account, AlertKind.RUNWAY, threshold="3", hysteresis="1")
    for days_ago in range(1, 8):
        day_usage(account, utc_midnight(days_ago), "10")
    snapshot(account, "19")  # 1.9 days of credit
    refresh_summary(account)

    evaluate_alerts(account)
    deliver()

    headline = AlertEvent.objects.get().headline
    assert "has 1.9 days of credit left" in headline
    email = smtp_server.text_of(smtp_server.messages[0])
    assert "Runway:         1.9 days" in email
    assert "1.90" not in email and "1 day " not in email
    card = html_of(client, manager, "account", account.cloudflare_id)
    overview = html_of(client, manager, "overview")
    assert '<div class="value">1.9 days</div>' in card and "has 1.9 days of credit left" in card
    assert ">1.9 days</td>" in overview


def test_spent_this_window_is_the_stored_figure_in_the_alert_and_on_the_card(client, account, manager):
    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    ninety_of_a_hundred_spent(account)
    refresh_summary(account)
    # Usage arrives after the figures were stored: pages and the alert both still read $90.00 until the
    # next refresh, rather than one of them reading the history directly.
    day_usage(account, utc_midnight(5), "0.04")

    evaluate_alerts(account)

    card = html_of(client, manager, "account", account.cloudflare_id)
    assert "($90.00 of $100.00/month)" in AlertEvent.objects.get().headline
    assert "$90.00 spent in this window" in card


def test_after_the_limit_is_lowered_the_banner_and_badge_say_exceeded(client, account, manager):
    only_rule(account, AlertKind.SPENDING_LIMIT, threshold="80", hysteresis="5")
    limit = ninety_of_a_hundred_spent(account)
    evaluate_alerts(account)
    limit.amount = Decimal(72)
    limit.save()

    card = html_of(client, manager, "account", account.cloudflare_id)
    overview = html_of(client, manager, "overview")
    history = html_of(client, manager, "alert_history")

    assert "Spending limit exceeded: Acme Prod has used 125% ($90.00 of $72.00/month)" in card
    assert "has used 90%" not in card and 'class="notice bad"' in card
    assert '<span class="badge bad">exceeded</span>' in card
    assert 'class="badge bad"' in overview and "● spending limit exceeded" in overview
    assert "nearly used" not in overview and "125% exceeded" in overview
    assert "Spending limit exceeded: Acme Prod has used 125%" in history


def test_history_shows_when_the_resolution_was_emailed(client, account, manager):
    only_rule(account)
    opened = timezone.now() - timedelta(hours=3)
    snapshot(account, "4.20", at=opened)
    evaluate_alerts(account, now=opened)
    snapshot(account, "90")
    now = timezone.now()
    evaluate_alerts(account, now=now)

    history = html_of(client, manager, "alert_history")
    local = timezone.localtime(now)
    assert f'<td class="mono when">{local:%Y-%m-%d %H:%M} {local.tzname()}</td>' in history


def test_failing_auto_topup_reads_as_words_on_the_overview_and_the_account(client, account, manager):
    from billing.models import AutoTopUpConfig

    snapshot(account, "-1.35")
    AutoTopUpConfig.objects.create(
        account=account,
        amount=Decimal(50),
        threshold=Decimal(20),
        disabled_reason="no_payment_method",
        synced_at=timezone.now(),
    )
    overview = html_of(client, manager, "overview")
    card = html_of(client, manager, "account", account.cloudflare_id)
    for page in (overview, card):
        assert "no_payment_method" not in page.replace('title="no_payment_method"', "")
        assert "<strong>On</strong> — " in page and "failing: no card on file" in page
    assert "Add a card in the Cloudflare dashboard" in card
    assert ">Change</a>" in card  # it is set up, even though failing


def test_invoice_lines_and_card_brands_are_words(client, account, manager):
    preview = InvoicePreview.objects.create(
        account=account,
        preview_id="in_1",
        amount_due=Decimal(12),
        amount_paid=0,
        amount_remaining=Decimal(12),
        currency="usd",
        status="draft",
        synced_at=timezone.now(),
    )
    InvoicePreviewLine.objects.create(
        preview=preview,
        position=0,
        amount=Decimal(12),
        quantity=Decimal(15401797),
        credits=[{"amount": "1.50", "type": "credit_balance_transaction"}],
    )
    TopUp.objects.create(
        account=account,
        amount_cents=5000,
        status=TopUpStatus.COMPLETED,
        card_brand="mastercard",
        card_last4="4444",
        requested_at=timezone.now(),
        completed_at=timezone.now(),
    )
    invoice = html_of(client, manager, "invoice_upcoming", account.cloudflare_id)
    topups = html_of(client, manager, "topups", account.cloudflare_id)
    assert "15,401,797" in invoice and "prepaid credit" in invoice
    assert "credit_balance_transaction" not in invoice
    assert "Mastercard •••• 4444" in topups and "mastercard" not in topups


def test_balance_chart_marks_every_credit_arrival_with_a_legend(client, account, manager):
    from billing.views.account import credit_arrivals

    now = timezone.now()
    rows = [
        (10, "20", None),
        (9, "15", Decimal(50)),
        (8, "65", Decimal(50)),
        (7, "60", None),
        (6, "160", None),
    ]
    for days_ago, balance, auto in rows:
        BalanceSnapshot.objects.create(
            account=account,
            taken_at=now - timedelta(days=days_ago),
            balance=Decimal(balance),
            auto_topup_amount=auto,
        )
    TopUp.objects.create(
        account=account,
        amount_cents=1000,
        status=TopUpStatus.COMPLETED,
        requested_at=now - timedelta(days=3),
        completed_at=now - timedelta(days=3),
    )
    snapshot(account, "170", at=now - timedelta(days=3))
    snapshot(account, "-5", at=now)
    points = list(BalanceSnapshot.objects.order_by("taken_at").values_list("taken_at", "balance"))

    kinds = [kind for _, _, kind in credit_arrivals(account, points, now - timedelta(days=30))]
    card = html_of(client, manager, "account", account.cloudflare_id)

    assert kinds == ["auto", "elsewhere", "portal"]
    assert (
        'class="marker auto"' in card
        and 'class="marker elsewhere"' in card
        and 'class="marker portal"' in card
    )
    assert "Credit arrivals:" in card and "auto top-up" in card and "credit added" in card
    assert "The red dashed line is zero." in card


def test_zero_line_caption_follows_the_line_not_todays_balance(client, account, manager):
    now = timezone.now()
    snapshot(account, "-3", at=now - timedelta(days=2))
    snapshot(account, "40", at=now)  # positive today, yet the line dipped below zero
    card = html_of(client, manager, "account", account.cloudflare_id)
    assert 'class="zero"' in card and "The red dashed line is zero." in card


def test_the_account_page_reads_its_top_ups_in_one_query_however_many(client, account, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    now = timezone.now()
    snapshot(account, "100", at=now - timedelta(days=20))
    snapshot(account, "90", at=now)
    client.force_login(manager)
    url = reverse("account", args=[account.cloudflare_id])

    def queries_with(topups: int) -> int:
        for n in range(TopUp.objects.count(), topups):
            TopUp.objects.create(
                account=account,
                amount_cents=1000 + n,
                status=TopUpStatus.COMPLETED,
                requested_at=now - timedelta(days=10 - n),
                completed_at=now - timedelta(days=10 - n),
            )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    one, five = queries_with(1), queries_with(5)
    assert one == five, f"{one} queries with one top-up, {five} with five"
