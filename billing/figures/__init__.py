"""Derived figures, in one place, from local tables only (no API call): spend per day, runway, spend against
the spending limit, and whether the data is fresh.

How spend over a span of time [a, b) is read from usage rows (the one rule every figure uses):
- a UTC day wholly inside the span counts its day row when there is one, else the sum of its hour rows;
- a UTC day that the span cuts counts its hour rows that start inside the span; when that day has no hour rows
  (older than the hourly history), its day row counts in proportion to the overlap.
Days are Cloudflare's UTC days; local days (settings.TIME_ZONE) are spans like any other. Amounts are Decimal
dollars, rounded to 6 places (the precision of the tables).
"""

from billing.figures.compute import (
    AccountFigures,
    daily_spend,
    figures_for,
    figures_for_accounts,
    peak_daily_spend,
    spend_in_limit_window,
)
from billing.figures.spend import limit_window_start, runway, usage_for
from billing.figures.stored import (
    STORED_FIGURES_COLUMNS,
    refresh_balance,
    refresh_summaries,
    refresh_summary,
    stored_figures,
    stored_figures_of_rows,
)

__all__ = [
    "STORED_FIGURES_COLUMNS",
    "AccountFigures",
    "daily_spend",
    "figures_for",
    "figures_for_accounts",
    "limit_window_start",
    "peak_daily_spend",
    "refresh_balance",
    "refresh_summaries",
    "refresh_summary",
    "runway",
    "spend_in_limit_window",
    "stored_figures",
    "stored_figures_of_rows",
    "usage_for",
]
