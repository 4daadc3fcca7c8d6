"""/accounts/{id}/month and /totals: the month so far, its forecast and the budget of one account (the budget
page's card), and the sums across the token's accounts (the overview's totals line), from the stored figures
both pages read."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from billing.api.auth import token_of
from billing.api.schemas import Money, money, number
from billing.api.tokens import readable_accounts
from billing.figures import STORED_FIGURES_COLUMNS, stored_figures_of_rows
from billing.figures.month import FORECAST_BASIS_DAYS, MIN_HISTORY_DAYS, budget_of
from billing.figures.totals import forecast_words, totals_of

router = Router(tags=["month"])


class BudgetOut(Schema):
    amount: Money
    used_percent: str | None  # month to date as a percent of the budget; null for a zero budget
    forecast_percent: str | None  # the forecast as a percent of the budget; null without a forecast
    forecast_over: bool


class MonthOut(Schema):
    start: date | None  # the UTC month's first day; null before any usage is synced
    to_date: Money | None  # billed usage so far this UTC month
    forecast: Money | None  # the end-of-month forecast; null with too little history (see forecast_note)
    forecast_note: str  # why there is no forecast, "" when there is one
    history_days: int
    forecast_basis_days: int
    min_history_days: int
    budget: BudgetOut | None  # null when the account has no monthly budget


@router.get(
    "/accounts/{account_id}/month",
    response=MonthOut,
    summary="The month so far, its forecast and the budget",
    description=f"The forecast is billed usage so far plus the mean of the last {FORECAST_BASIS_DAYS} "
    f"complete UTC days for the rest of the month; none with fewer than {MIN_HISTORY_DAYS} days of history.",
)
def month(request: HttpRequest, account_id: str) -> MonthOut:
    rows = list(
        readable_accounts(token_of(request))
        .filter(cloudflare_id=account_id)
        .values("monthly_budget", *STORED_FIGURES_COLUMNS)
    )
    if not rows:
        raise Http404("No such account.")
    figures = stored_figures_of_rows(rows).get(rows[0]["pk"])
    found = figures.month if figures else None
    to_date = found.to_date if found else None
    forecast = found.forecast if found else None
    budget = budget_of(rows[0]["monthly_budget"], to_date, forecast)
    return MonthOut(
        start=found.start if found else None,
        to_date=money(to_date),
        forecast=money(forecast),
        forecast_note=forecast_words(figures),
        history_days=found.history_days if found else 0,
        forecast_basis_days=FORECAST_BASIS_DAYS,
        min_history_days=MIN_HISTORY_DAYS,
        budget=BudgetOut(
            amount=money(budget.amount),
            used_percent=number(budget.used_percent),
            forecast_percent=number(budget.forecast_percent),
            forecast_over=budget.forecast_over,
        )
        if budget
        else None,
    )


class TotalsOut(Schema):
    accounts: int
    balance: Money  # the sum over `with_balance` accounts (one never synced has no balance)
    with_balance: int
    spend_per_day: Money
    month_to_date: Money
    forecast: Money  # the sum over `with_forecast` accounts; `forecast_complete` when that is all of them
    with_forecast: int
    forecast_complete: bool


@router.get("/totals", response=TotalsOut, summary="Totals across the accounts this token reads")
def totals(request: HttpRequest) -> TotalsOut:
    rows = list(readable_accounts(token_of(request)).values(*STORED_FIGURES_COLUMNS))
    figures = stored_figures_of_rows(rows)
    found = totals_of(figures.get(row["pk"]) for row in rows)
    return TotalsOut(
        accounts=found.accounts,
        balance=money(found.balance),
        with_balance=found.with_balance,
        spend_per_day=money(found.spend_per_day),
        month_to_date=money(found.month_to_date),
        forecast=money(found.forecast),
        with_forecast=found.with_forecast,
        forecast_complete=found.forecast_complete,
    )
