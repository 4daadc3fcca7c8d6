"""The month: billed usage so far this UTC month and the end-of-month forecast, and an account's budget
against them.

The forecast follows AWS Budgets' forecast alerts: what has been billed so far, plus the recent daily rate for
the rest of the month (from the hour under way, to the cent). Here the rate is the mean of the last
FORECAST_BASIS_DAYS complete UTC days of billed usage (Cloudflare's days), so a quiet start or a busy week
moves it within days, not weeks. With fewer than MIN_HISTORY_DAYS complete days of usage history (counted from
the account's first day of usage the portal holds) there is no forecast: pages say so instead of a number, and
no alert is raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from billing.figures.spend import DAY, TENTH, Usage, utc_day

CENT = Decimal("0.01")
FORECAST_BASIS_DAYS = 7
MIN_HISTORY_DAYS = 7


def month_span(now: datetime) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of the UTC month of `now`."""
    start = utc_day(now).replace(day=1)
    following = (start + 32 * DAY).replace(day=1)
    return start, following


def month_spans(now: datetime) -> list[tuple[datetime, datetime]]:
    """The usage spans the month figures read: the month so far, and the forecast's basis days."""
    today = utc_day(now)
    return [(month_span(now)[0], now), (today - FORECAST_BASIS_DAYS * DAY, today)]


@dataclass(frozen=True)
class Month:
    """One account's month. `forecast` is None with too little history (`history_days` < MIN_HISTORY_DAYS)."""

    start: date
    to_date: Decimal
    forecast: Decimal | None
    history_days: int


def month_of(usage: Usage, first_usage_at: datetime | None, now: datetime) -> Month:
    """The month figures from an account's usage rows (read for `month_spans(now)`) and the start of its
    first usage row (None: none yet)."""
    start, end = month_span(now)
    to_date = usage.spend(start, now)
    today = utc_day(now)
    history_days = 0 if first_usage_at is None else max(0, (today - utc_day(first_usage_at)).days)
    forecast = None
    if history_days >= MIN_HISTORY_DAYS:
        rate = usage.spend(today - FORECAST_BASIS_DAYS * DAY, today) / FORECAST_BASIS_DAYS
        # From the hour under way: usage is synced by the hour, and the figure holds still until it ends.
        hour = now.replace(minute=0, second=0, microsecond=0)
        days_left = Decimal((end - hour).total_seconds()) / Decimal(DAY.total_seconds())
        forecast = (to_date + rate * days_left).quantize(CENT)
    return Month(start.date(), to_date, forecast, history_days)


def current_month_start(now: datetime) -> date:
    return month_span(now)[0].astimezone(UTC).date()


@dataclass(frozen=True)
class Budget:
    """A monthly budget against the month: percents of it used so far and forecast."""

    amount: Decimal
    used_percent: Decimal | None
    forecast_percent: Decimal | None

    @property
    def forecast_over(self) -> bool:
        return self.forecast_percent is not None and self.forecast_percent > 100


def budget_of(amount: Decimal | None, to_date: Decimal | None, forecast: Decimal | None) -> Budget | None:
    """The budget's use (None without a budget); a zero budget has no percents."""
    if amount is None:
        return None
    return Budget(amount, _percent(to_date, amount), _percent(forecast, amount))


def _percent(value: Decimal | None, of: Decimal) -> Decimal | None:
    if value is None or of <= 0:
        return None
    return (value * 100 / of).quantize(TENTH)
