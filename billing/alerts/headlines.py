"""The headline of each kind of alert, and the facts it is written from: the same stored figures the pages
show (`billing.figures.stored_figures`), formatted by `billing.display`, so a banner, a badge, an email and a
card say one value in one wording. A rule with several levels names the level reached ("below $20.00 (level
2 of 3)") where a one-level rule names its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing import display
from billing.alerts.levels import Level
from billing.figures import AccountFigures, stored_figures
from billing.models import AlertKind
from billing.money import format_money

EXCEEDED_LABEL = "Spending limit exceeded"


@dataclass(frozen=True)
class Facts:
    """What the words of one account's alerts read: its stored figures, its limit and its auto top-up."""

    name: str
    figures: AccountFigures | None
    limit_amount: Decimal | None = None
    limit_duration: str = ""
    auto_topup: tuple = (None, None, "", "")  # amount, threshold, error, disabled reason


def facts_for(accounts, now: datetime | None = None) -> dict[int, Facts]:
    """{account pk: Facts}; fetch the accounts with select_related("summary", "spending_limit", "auto_topup")
    to read them without a query each."""
    accounts = list(accounts)
    figures = stored_figures(accounts, now)
    facts = {}
    for account in accounts:
        limit = account.one_to_one("spending_limit")
        config = account.one_to_one("auto_topup")
        facts[account.pk] = Facts(
            name=account.name or account.cloudflare_id,
            figures=figures.get(account.pk),
            limit_amount=limit.amount if limit is not None and limit.enabled else None,
            limit_duration=limit.duration if limit is not None and limit.enabled else "",
            auto_topup=auto_topup_of(config),
        )
    return facts


def auto_topup_of(config) -> tuple:
    if config is None:
        return (None, None, "", "")
    return (config.amount, config.threshold, config.error or "", config.disabled_reason or "")


def limit_exceeded(figures: AccountFigures | None) -> bool:
    used = figures.limit_used_percent if figures is not None else None
    return used is not None and used >= 100


def low_balance(name: str, figures: AccountFigures, threshold: Decimal, level: Level | None = None) -> str:
    where = level.words if level else f"threshold {format_money(threshold)}"
    return f"Low balance: {name} {format_money(figures.balance)}, {where}"


def runway(name: str, figures: AccountFigures, threshold: Decimal, level: Level | None = None) -> str:
    if figures.runway_days is None:
        return f"Runway: {name} is not spending"
    where = level.words if level else f"threshold {display.day_count(threshold)}"
    return (
        f"Short runway: {name} has {display.days(figures.runway_days)} of credit left "
        f"({format_money(figures.balance)} at {format_money(figures.spend_per_day)}/day), {where}"
    )


def spending_limit(facts: Facts, threshold: Decimal, level: Level | None = None) -> str:
    figures = facts.figures
    if figures is None or figures.limit_used_percent is None:
        return f"Spending limit: none on {facts.name}"
    of = ""
    if facts.limit_amount is not None:
        of = f" of {format_money(facts.limit_amount)}{display.per_window(facts.limit_duration)}"
    used = f"has used {display.percent(figures.limit_used_percent)} ({format_money(figures.limit_spent)}{of})"
    if limit_exceeded(figures):
        return f"{EXCEEDED_LABEL}: {facts.name} {used}" + (f", {level.words}" if level else "")
    where = level.words if level else f"alert above {display.threshold_percent(threshold)}"
    return f"{AlertKind.SPENDING_LIMIT.label}: {facts.name} {used}, {where}"


def auto_topup(name: str, reason: str) -> str:
    if not reason:
        return f"Auto top-up working: {name}"
    return f"Auto top-up failing: {name} ({reason})"


def stale_data(name: str, data_as_of: datetime | None, now: datetime) -> str:
    if data_as_of is None:
        return f"Stale data: {name} has never synced successfully"
    minutes = Decimal((now - data_as_of).total_seconds()) / 60
    return f"Stale data: no successful sync for {name} in {display.number(minutes, 0)} minutes"


def usage_spike(name: str, day, spend: Decimal, factor: Decimal, baseline_days: int, median: Decimal) -> str:
    return (
        f"Usage spike: {name} spent {format_money(spend)} on {day}, "
        f"{display.number(factor)}x the {baseline_days}-day median {format_money(median)}"
    )


def ledger_unbalanced(name: str, day, difference) -> str:
    if day is None:
        return f"Ledger of {name} balances"
    return f"Ledger does not balance: {name} on {day:%Y-%m-%d}, {format_money(difference)} unexplained"


def forecast_over_budget(name: str, forecast: Decimal, budget: Decimal, percent: Decimal) -> str:
    return (
        f"Forecast over budget: {name} is on course for {format_money(forecast)} this month, "
        f"{display.percent(percent)} of its {format_money(budget)} budget"
    )
