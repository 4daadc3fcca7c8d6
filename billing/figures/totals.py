"""Totals across the accounts a person sees (the overview's totals line and the accounts CSV), and the CSV's
line per account, from the same stored figures the overview shows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from billing.figures.compute import AccountFigures
from billing.figures.month import MIN_HISTORY_DAYS, budget_of
from billing.figures.spend import ZERO


@dataclass(frozen=True)
class Totals:
    """Sums over the accounts; each says how many accounts it covers (an account never synced has no
    balance, one with too little history no forecast), so a partial sum is never shown as the whole."""

    accounts: int
    balance: Decimal
    with_balance: int
    spend_per_day: Decimal
    month_to_date: Decimal
    forecast: Decimal
    with_forecast: int

    @property
    def forecast_complete(self) -> bool:
        return self.with_forecast == self.accounts


def totals_of(figures: Iterable[AccountFigures | None]) -> Totals:
    accounts = with_balance = with_forecast = 0
    balance = spend = to_date = forecast = ZERO
    for figure in figures:
        accounts += 1
        if figure is None:
            continue
        if figure.balance is not None:
            balance += figure.balance
            with_balance += 1
        spend += figure.spend_per_day or ZERO
        if figure.month is not None:
            to_date += figure.month.to_date
            if figure.month.forecast is not None:
                forecast += figure.month.forecast
                with_forecast += 1
    return Totals(accounts, balance, with_balance, spend, to_date, forecast, with_forecast)


def forecast_words(figures: AccountFigures | None) -> str:
    """Why an account has no forecast, or "" when it has one."""
    month = figures.month if figures else None
    if month is None:
        return "no usage synced yet"
    if month.forecast is None:
        return (
            f"too little history to forecast: {month.history_days} complete days of usage, "
            f"{MIN_HISTORY_DAYS} needed"
        )
    return ""


ACCOUNT_CSV_COLUMNS = [
    "account_id",
    "name",
    "balance_usd",
    "spend_per_day_7d_usd",
    "runway_days",
    "month_start",
    "month_to_date_billed_usd",
    "month_forecast_usd",
    "forecast_note",
    "monthly_budget_usd",
    "budget_used_percent",
    "forecast_percent_of_budget",
    "data_as_of_utc",
]


def account_csv_rows(accounts: list[dict], figures: dict[int, AccountFigures]) -> Iterator[list[str]]:
    """One line per account (rows of the overview's query), then a line of totals."""
    for account in accounts:
        figure = figures.get(account["pk"])
        month = figure.month if figure else None
        budget = budget_of(
            account["monthly_budget"], month.to_date if month else None, month.forecast if month else None
        )
        yield [
            account["cloudflare_id"],
            account["name"],
            _text(figure.balance if figure else None),
            _text(figure.spend_per_day if figure else None),
            _text(figure.runway_days if figure else None),
            month.start.isoformat() if month else "",
            _text(month.to_date if month else None),
            _text(month.forecast if month else None),
            forecast_words(figure),
            _text(budget.amount if budget else None),
            _text(budget.used_percent if budget else None),
            _text(budget.forecast_percent if budget else None),
            figure.data_as_of.isoformat() if figure and figure.data_as_of else "",
        ]
    totals = totals_of(figures.get(account["pk"]) for account in accounts)
    note = "" if totals.forecast_complete else f"forecast covers {totals.with_forecast} of {totals.accounts}"
    yield [
        "",
        f"Total of {totals.accounts} accounts",
        _text(totals.balance),
        _text(totals.spend_per_day),
        "",
        "",
        _text(totals.month_to_date),
        _text(totals.forecast),
        note,
        "",
        "",
        "",
        "",
    ]


def _text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")
