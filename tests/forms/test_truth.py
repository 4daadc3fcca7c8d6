"""Forms tell the truth: the bounds shown are the bounds checked, a surprising change asks first, and every
threshold shows its unit and its real minimum."""

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import sync
from billing.forms.money import SpendingLimitForm
from billing.limits import topup_bounds
from billing.models import SpendingLimit, UsageRecord
from tests.support.alerts import rule_form
from tests.support.history import snapshot
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db


def url(name, account):
    return reverse(name, args=[account.cloudflare_id])


# --- rule 3: a form states its real bounds before you type -------------------------------------------------
def test_topup_form_shows_the_cached_cloudflare_range_it_will_check(client, manager, account, cloudflare):
    sync.store_topup_range(account, 1000, 100_000)
    client.force_login(manager)
    html = unescape(client.get(url("topup_new", account)).content.decode())
    assert "Cloudflare allows $10.00 to $1,000.00 for this account." in html
    assert "$10,000.00" not in html
    assert api_requests(cloudflare) == []


def test_topup_form_without_cloudflare_limits_says_whose_bounds_they_are(
    client, manager, account, cloudflare
):
    client.force_login(manager)
    html = unescape(client.get(url("topup_new", account)).content.decode())
    assert "From $10.00 to $10,000.00: Cloudflare's minimum and the portal's maximum." in html


def test_topup_form_shows_exactly_the_bounds_the_submit_checks(client, manager, account, cloudflare):
    sync.store_topup_range(account, 1000, 100_000)
    client.force_login(manager)
    shown = client.get(url("topup_new", account)).context["bounds"]
    assert shown == topup_bounds(account)
    response = client.post(url("topup_new", account), {"amount": "1000.01"})
    assert response.status_code == 400
    errors = response.context["form"].errors["amount"]
    assert errors == ["Amount must be at most $1,000.00."]  # the same limits: no word of a change


def test_a_submit_that_learns_new_limits_says_so_in_the_error(client, manager, account, cloudflare):
    client.force_login(manager)
    page = unescape(client.get(url("topup_new", account)).content.decode())
    assert "$10,000.00" in page  # Cloudflare's limits not known yet: the portal's maximum
    # A sync learns Cloudflare's range while the page is open; the form posts the range it showed.
    sync.store_topup_range(account, 1000, 100_000)
    shown = {"shown_min_cents": "1000", "shown_max_cents": "1000000"}
    response = client.post(url("topup_new", account), {"amount": "5000", **shown})
    assert response.status_code == 400
    errors = response.context["form"].errors["amount"]
    assert errors[0] == "Amount must be at most $1,000.00."
    assert errors[1] == (
        "Cloudflare's limits for this account changed since the page showed $10.00 to $10,000.00: "
        "Cloudflare allows $10.00 to $1,000.00 for this account."
    )
    # The page now shows, and the next page view keeps, the range the error speaks of.
    assert "Cloudflare allows $10.00 to $1,000.00 for this account." in unescape(response.content.decode())
    assert "Cloudflare allows $10.00 to $1,000.00" in unescape(
        client.get(url("topup_new", account)).content.decode()
    )


def test_topup_fee_percent_reads_as_a_plain_number(client, manager, account, cloudflare, settings):
    settings.TOPUP_FEE_PERCENT = Decimal("50")
    client.force_login(manager)
    html = unescape(client.get(url("topup_new", account)).content.decode())
    assert "A 50% purchase fee" in html


def test_spending_limit_has_a_portal_maximum_it_states(settings):
    settings.SPENDING_LIMIT_MAX_DOLLARS = Decimal(100000)
    form = SpendingLimitForm({"amount": "99999999999", "duration": "monthly", "strategy": "fixed"})
    assert not form.is_valid()
    assert form.errors["amount"] == ["Limit must be at most $100,000.00."]
    assert "to $100,000.00 (the portal's maximum)" in SpendingLimitForm().fields["amount"].help_text
    assert SpendingLimitForm({"amount": "100000", "duration": "daily", "strategy": "fixed"}).is_valid()


def test_spending_limit_page_states_min_and_max(client, manager, account, cloudflare):
    client.force_login(manager)
    html = client.get(url("spending_limit", account)).content.decode()
    assert "From $1.00 (Cloudflare's minimum) to $100,000.00 (the portal's maximum)." in unescape(html)


def test_oversized_spending_limit_is_refused_and_not_sent(client, manager, account, cloudflare):
    client.force_login(manager)
    response = client.post(
        url("spending_limit", account), {"amount": "99999999999", "duration": "monthly", "strategy": "fixed"}
    )
    assert response.status_code == 400
    assert "Limit must be at most $100,000.00." in response.content.decode()
    assert api_requests(cloudflare) == []


# --- rule 4: a change with a surprising consequence asks first --------------------------------------------
def spent_this_hour(account, value: str) -> None:
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    UsageRecord.objects.create(
        account=account,
        window="hour",
        start=hour,
        end=hour + timedelta(hours=1),
        summary_id="now",
        value=Decimal(value),
        synced_at=timezone.now(),
    )


LIMIT = {"amount": "400", "duration": "monthly", "strategy": "fixed"}


def test_a_limit_below_the_spend_so_far_asks_first_and_sends_nothing(client, manager, account, cloudflare):
    snapshot(account, "100")
    spent_this_hour(account, "502.07")
    client.force_login(manager)
    response = client.post(url("spending_limit", account), LIMIT)
    html = response.content.decode()
    assert response.status_code == 200
    warning = response.context["warnings"][0]
    assert "already spent $502.07" in warning
    assert "the new limit of $400.00" in warning
    assert "Cloudflare stops AI Gateway requests at once, until the window resets on" in warning
    start = timezone.localtime().replace(day=1)
    next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    assert f"{start:%b %-d, %Y} 00:00" in warning and f"{next_month:%b %-d, %Y} 00:00" in warning
    assert "Set anyway" in html
    assert 'name="confirmed"' in html
    assert api_requests(cloudflare, "POST") == []
    assert not SpendingLimit.objects.filter(account=account).exists()


def test_only_a_confirmed_second_submit_sends_the_limit(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "100")
    spent_this_hour(account, "502.07")
    client.force_login(manager)
    confirmed = client.post(url("spending_limit", account), LIMIT).context["confirmed"]
    response = client.post(url("spending_limit", account), {**LIMIT, "confirmed": confirmed}, follow=True)
    assert "Spending limit set: $400.00" in response.content.decode()
    assert len(api_requests(cloudflare, "POST", "/spending-limit")) == 1


def test_a_confirmation_of_other_values_asks_again(client, manager, account, cloudflare):
    snapshot(account, "100")
    spent_this_hour(account, "502.07")
    client.force_login(manager)
    confirmed = client.post(url("spending_limit", account), LIMIT).context["confirmed"]
    response = client.post(url("spending_limit", account), {**LIMIT, "amount": "300", "confirmed": confirmed})
    assert response.status_code == 200
    assert "the new limit of $300.00" in response.context["warnings"][0]
    assert api_requests(cloudflare, "POST") == []


def test_a_sliding_window_warning_says_how_usage_resumes(client, manager, account, cloudflare):
    snapshot(account, "100")
    spent_this_hour(account, "50")
    client.force_login(manager)
    response = client.post(
        url("spending_limit", account), {"amount": "20", "duration": "daily", "strategy": "sliding"}
    )
    warning = response.context["warnings"][0]
    assert "the last 24 hours" in warning
    assert "until enough of that spend is older than 24 hours to fall below the limit" in warning


def test_a_limit_above_the_spend_is_set_without_asking(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "100")
    spent_this_hour(account, "10")
    client.force_login(manager)
    response = client.post(url("spending_limit", account), LIMIT)
    assert response.status_code == 302
    assert len(api_requests(cloudflare, "POST", "/spending-limit")) == 1


# --- rule 3: alert rules show units, normalised values and real minimums ----------------------------------
def test_alert_rule_form_shows_stored_values_normalised_with_their_unit(client, admin_user, account):
    from billing.models import AlertRule

    AlertRule.objects.create(
        account=account, kind="low_balance", threshold=Decimal("10.000000"), hysteresis=5
    )
    AlertRule.objects.create(account=account, kind="runway", threshold=Decimal("3.000000"), hysteresis="0.5")
    client.force_login(admin_user)
    money = client.get(reverse("account_alert_rule", args=[account.cloudflare_id, "low_balance"]))
    html = money.content.decode()
    assert 'value="10.00"' in html and 'value="5.00"' in html
    assert "10.000000" not in html
    assert '<div class="input-money"><span aria-hidden="true">$</span>' in html
    days = client.get(reverse("account_alert_rule", args=[account.cloudflare_id, "runway"])).content.decode()
    assert 'value="3"' in days and 'value="0.5"' in days
    assert "<span>days</span>" in days
    assert "From 0.5 days to 365 days." in days


@pytest.mark.parametrize(
    ("kind", "sign"),
    [
        ("runway", "days"),
        ("auto_topup_failing", "hours"),
        ("spending_limit", "%"),
        ("stale_data", "minutes"),
        ("usage_spike", "×"),
    ],
)
def test_every_threshold_shows_its_unit(kind, sign):
    form = rule_form(kind)
    assert form.fields["threshold"].unit_sign == sign
    assert form.fields["hysteresis"].unit_sign == sign
    assert form.fields["reminder_hours"].unit_sign == "hours"


@pytest.mark.parametrize(
    ("kind", "typed", "message"),
    [
        ("runway", "0", "Threshold must be at least 0.5 days."),
        ("runway", "0.25", "Threshold can have at most 1 decimal place."),
        ("spending_limit", "0", "Threshold must be at least 1%."),
        ("spending_limit", "101", "Threshold must be at most 100%."),
        ("usage_spike", "1", "Threshold must be at least 1.1×."),
        ("stale_data", "4", "Threshold must be at least 5 minutes."),
        ("auto_topup_failing", "0", "Threshold must be at least 1 hour."),
        ("low_balance", "0.99", "Threshold must be at least $1.00."),
        ("low_balance", "10.001", "Threshold can have at most 2 decimal places (whole cents)."),
        ("runway", "soon", "Enter a number of days for the threshold, like 7 or 2.5."),
        ("low_balance", "ten", "Enter a number of dollars for the threshold, like 25 or 25.50."),
    ],
)
def test_alert_thresholds_have_real_minimums_named_in_the_error(kind, typed, message):
    form = rule_form(kind, threshold=typed)
    assert not form.is_valid()
    assert form.errors["threshold"][0].startswith(message)


def test_money_thresholds_read_like_the_other_money_forms():
    form = rule_form("low_balance", threshold="$1,250.50", hysteresis="5")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["threshold"] == Decimal("1250.50")
    assert form.cleaned_data["hysteresis"] == Decimal(5)


def test_margin_errors_name_the_threshold_with_its_unit():
    form = rule_form("spending_limit", threshold="80", hysteresis="80")
    assert not form.is_valid()
    assert form.errors["hysteresis"] == [
        "The margin must be smaller than the threshold (80%), or the alert never resolves."
    ]


def test_reminder_hours_errors_name_the_field():
    form = rule_form("runway", threshold="3", reminder_hours="-1")
    assert not form.is_valid()
    assert form.errors["reminder_hours"] == ["Reminder hours cannot be negative; 0 sends no reminders."]
