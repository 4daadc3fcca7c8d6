"""The unit decisions of billing/money.py (reference/API.md, "Units"), pinned."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing import money


def test_balance_is_read_as_cents_by_default_and_may_be_fractional():
    assert money.balance_to_dollars(Decimal("12345.6789")) == Decimal("123.456789")
    assert money.balance_to_dollars(-135) == Decimal("-1.35")


def test_balance_unit_can_be_switched_to_dollars():
    assert money.balance_to_dollars(Decimal("4.20"), "dollars") == Decimal("4.20")
    with pytest.raises(money.UnitError):
        money.balance_to_dollars(1, "euros")


def test_usage_aggregated_value_is_already_dollars():
    assert money.usage_to_dollars(Decimal("0.000123")) == Decimal("0.000123")


def test_invoice_amounts_are_minor_units_of_their_currency():
    assert money.minor_units_to_major(1050, "usd") == Decimal("10.50")
    assert money.minor_units_to_major(1050, "USD") == Decimal("10.50")
    assert money.minor_units_to_major(1050, "jpy") == Decimal("1050")


def test_money_is_never_read_through_float():
    for bad in (0.1, True, "NaN", "Infinity", "abc"):
        with pytest.raises(money.UnitError):
            money.to_decimal(bad)
    assert money.to_decimal("0.1") + money.to_decimal("0.2") == Decimal("0.3")


def test_request_amounts_are_whole_cents():
    assert money.dollars_to_cents(Decimal("10.50")) == 1050
    with pytest.raises(money.UnitError):
        money.dollars_to_cents(Decimal("10.505"))


def test_usage_bounds_are_unix_milliseconds_both_ways():
    moment = datetime(2026, 11, 25, 15, 30, 1, 250000, tzinfo=UTC)
    assert money.datetime_to_ms(moment) == 1795620601250
    assert money.ms_to_datetime(1795620601250) == moment
    assert money.ms_to_datetime(Decimal("1795620601250")) == moment


def test_invoice_times_are_seconds_or_milliseconds_above_ten_to_the_eleventh():
    assert money.timestamp_to_datetime(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert money.timestamp_to_datetime(1_700_000_000_500) == datetime(
        2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC
    )
    assert money.timestamp_to_datetime(None) is None and money.timestamp_to_datetime("") is None
    # Before 1970 with a fraction (a bug once: negative microseconds).
    assert money.timestamp_to_datetime(Decimal("-1.5")) == datetime(
        1969, 12, 31, 23, 59, 58, 500000, tzinfo=UTC
    )


def test_format_money_rounds_half_up_for_display_only():
    assert money.format_money(Decimal("1204.505")) == "$1,204.51"
    assert money.format_money(Decimal("-1.35")) == "-$1.35"
    assert money.format_money(Decimal("-0.001")) == "$0.00"
    assert money.format_money(None) == "–"
    assert money.format_money(Decimal("1050"), "jpy") == "¥1,050"
