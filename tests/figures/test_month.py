"""The month so far and the end-of-month forecast: how it is made, and no forecast on too little history."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from billing.figures import figures_for
from billing.figures.month import budget_of, month_span
from tests.support.history import day_usage, utc_midnight

pytestmark = pytest.mark.django_db
# Mid-month at the top of an hour: 14.5 days of March are left (from 12:00 on the 17th).
NOON = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def test_forecast_is_the_month_so_far_plus_the_last_seven_days_mean_for_each_day_left(account):
    with time_machine.travel(NOON, tick=False):
        for days_ago in range(1, 17):  # March 1st to 16th, $10 a day, and $30 on the last seven
            day_usage(account, utc_midnight(days_ago), "30" if days_ago <= 7 else "10")
        month = figures_for(account).month
    assert month is not None
    assert month.start.isoformat() == "2026-03-01"
    assert month.to_date == Decimal(9 * 10 + 7 * 30)
    assert month.forecast == Decimal(300) + Decimal(30) * Decimal("14.5")
    assert month.history_days == 16


def test_too_little_history_gives_no_forecast(account):
    with time_machine.travel(NOON, tick=False):
        for days_ago in range(1, 4):
            day_usage(account, utc_midnight(days_ago), "10")
        month = figures_for(account).month
    assert month is not None and month.to_date == Decimal(30)
    assert month.forecast is None and month.history_days == 3


def test_the_months_span_and_the_budgets_percents():
    start, end = month_span(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert end - start == timedelta(days=31)
    budget = budget_of(Decimal(200), Decimal(50), Decimal(250))
    assert budget is not None and budget.used_percent == Decimal("25.0") and budget.forecast_over
    assert budget_of(None, Decimal(1), Decimal(2)) is None
    assert budget_of(Decimal(0), Decimal(1), None).forecast_percent is None
