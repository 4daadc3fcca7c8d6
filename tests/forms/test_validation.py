"""Forms turn typed dollars into integer cents, and say which field broke which rule."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from billing.forms.filters import UsageFilterForm
from billing.forms.money import AutoTopUpForm, SpendingLimitForm, TopUpConfirmForm, TopUpForm
from billing.limits import Bounds

BOUNDS = Bounds(min_cents=1000, max_cents=1_000_000)


def topup(amount):
    form = TopUpForm({"amount": amount}, bounds=BOUNDS)
    return form.is_valid(), form


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("10", 1000),
        ("10.5", 1050),
        ("10.50", 1050),
        ("$25", 2500),
        (" 1,250.75 ", 125075),
        ("0010.00", 1000),
        ("10000", 1_000_000),
        ("0.1e3", None),
    ],
)
def test_topup_amount_is_cleaned_to_integer_cents(typed, cents):
    valid, form = topup(typed)
    if cents is None:
        assert not valid
    else:
        assert valid, form.errors
        assert form.cleaned_data["amount"] == cents
        assert isinstance(form.cleaned_data["amount"], int)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "This field is required."),
        ("ten", "Amount must be a number of dollars, like 25 or 25.50."),
        ("NaN", "Amount must be a number of dollars, like 25 or 25.50."),
        ("Infinity", "Amount must be a number of dollars, like 25 or 25.50."),
        ("1e5", "Amount must be a number of dollars, like 25 or 25.50."),
        ("12,34", "Amount must be a number of dollars, like 25 or 25.50."),
        ("-20", "Amount cannot be negative."),
        ("$-20", "Amount cannot be negative."),
        ("10.001", "Amount can have at most 2 decimal places (whole cents)."),
        ("9.99", "Amount must be at least $10.00."),
        ("0", "Amount must be at least $10.00."),
        ("10000.01", "Amount must be at most $10,000.00."),
        ("9" * 40, "Amount is far too large."),
    ],
)
def test_bad_topup_amounts_name_the_field_and_the_rule(typed, message):
    valid, form = topup(typed)
    assert not valid
    assert form.errors["amount"] == [message]


def test_topup_bounds_come_from_the_caller():
    form = TopUpForm({"amount": "20"}, bounds=Bounds(min_cents=2500, max_cents=5000))
    assert not form.is_valid()
    assert form.errors["amount"] == ["Amount must be at least $25.00."]


def test_confirm_form_refuses_an_amount_outside_the_bounds():
    form = TopUpConfirmForm(
        {"amount_cents": "999", "intent_key": str(TopUpConfirmForm.new_intent_key())}, bounds=BOUNDS
    )
    assert not form.is_valid()
    assert "between $10.00 and $10,000.00" in form.errors["amount_cents"][0]


def test_confirm_form_needs_a_valid_intent_key():
    form = TopUpConfirmForm({"amount_cents": "1000", "intent_key": "not-a-uuid"}, bounds=BOUNDS)
    assert not form.is_valid()
    assert "intent_key" in form.errors


def test_auto_topup_form_uses_the_reference_minimums():
    form = AutoTopUpForm({"amount": "9.99", "threshold": "4.99"})
    assert not form.is_valid()
    assert form.errors["amount"] == ["Top-up amount must be at least $10.00."]
    assert form.errors["threshold"] == ["Threshold must be at least $5.00."]


def test_auto_topup_form_cleans_both_amounts_to_cents():
    form = AutoTopUpForm({"amount": "50", "threshold": "20.25"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == 5000
    assert form.cleaned_data["threshold"] == 2025
    assert form.cleaned_data["accept_warnings"] is False


def test_auto_topup_amount_has_the_portal_maximum(settings):
    settings.TOPUP_MAX_DOLLARS = 500
    form = AutoTopUpForm({"amount": "500.01", "threshold": "20"})
    assert not form.is_valid()
    assert form.errors["amount"] == ["Top-up amount must be at most $500.00."]


def test_spending_limit_minimum_is_one_dollar_and_choices_are_checked():
    form = SpendingLimitForm({"amount": "0.99", "duration": "yearly", "strategy": "fixed"})
    assert not form.is_valid()
    assert form.errors["amount"] == ["Limit must be at least $1.00."]
    assert "duration" in form.errors


def test_spending_limit_form_cleans_to_cents():
    form = SpendingLimitForm({"amount": "500", "duration": "monthly", "strategy": "sliding"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"amount": 50000, "duration": "monthly", "strategy": "sliding"}


def test_usage_range_defaults_to_thirty_days_by_day():
    window, first, last = UsageFilterForm({}).range()
    assert window == "day"
    assert last == timezone.localdate()
    assert (last - first).days == 29


def test_usage_range_by_hour_spans_up_to_a_year():
    today = timezone.localdate()
    form = UsageFilterForm({"window": "hour", "start": str(today - timedelta(days=364)), "end": str(today)})
    assert form.range() == ("hour", today - timedelta(days=364), today)
    form = UsageFilterForm({"window": "hour", "start": str(today - timedelta(days=800)), "end": str(today)})
    window, first, last = form.range()
    assert window == "hour"
    assert (last - first).days == 365


def test_usage_range_ignores_nonsense_and_future_dates():
    form = UsageFilterForm({"window": "week", "start": "yesterday", "end": str(date(2999, 1, 1))})
    window, _, last = form.range()
    assert window == "day"
    assert last == timezone.localdate()
