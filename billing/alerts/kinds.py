"""One entry per kind of alert, with everything about it: what it checks, which way it alerts and in what unit
(its `Scale`), the bounds and help text of its threshold (the rule form), the portal-wide default rule, its
colour and its label when exceeded, the headline it has now, who hears of it, the page that fixes it and its
button's words, and the figures it reports, each with a stable machine key (the webhook's) and a label (the
email's and Slack's).

Code asks this table instead of branching on a kind's name: adding a kind is one entry here plus its check.
`AlertKind` (billing.models) stays the database's choices; the jobs' watchdog's portal-wide kinds have their
own, smaller entries (`PORTAL_KINDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from billing import display
from billing.alerts import headlines
from billing.alerts.checks import (
    Reading,
    check_auto_topup_failing,
    check_forecast_over_budget,
    check_ledger,
    check_low_balance,
    check_runway,
    check_spending_limit,
    check_stale_data,
    check_usage_spike,
)
from billing.alerts.gateway_checks import check_gateway_rules, rule_states
from billing.alerts.headlines import Facts
from billing.alerts.kind_parts import Defaults, Figure, FixPage, Kind
from billing.alerts.levels import Direction, Scale, Unit
from billing.models import Account, AlertKind, AlertRule, PortalAlertKind, RuleState
from billing.money import format_money

# --- units, figures, fix pages ------------------------------------------------------------------------------
DOLLARS = Unit("dollars", "$", 2, money=True)
PERCENT = Unit("percent", "%", 0)


def dashboard_billing_url(account: Account) -> str:
    """Cloudflare's billing page of the account, where a card is added (auto top-up and payment methods)."""
    return f"{settings.CLOUDFLARE_DASHBOARD_URL.rstrip('/')}/{account.cloudflare_id}/billing"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


BALANCE = Figure("balance", "Balance", lambda reading, rule: format_money(reading.figures.balance))
SPEND_PER_DAY = Figure(
    "spend_per_day", "Spend per day", lambda reading, rule: format_money(reading.figures.spend_per_day)
)
RUNWAY = Figure(
    "runway",
    "Runway",
    lambda reading, rule: (
        display.days(reading.figures.runway_days) if reading.figures.balance is not None else "unknown"
    ),
)
AUTO_TOPUP = Figure("auto_top_up", "Auto top-up", lambda reading, rule: reading.auto_topup_state())
# When the figures are from: words in an email, an ISO time in the webhook (every message ends with it).
DATA_AS_OF = Figure(
    "data_as_of",
    "Data as of",
    lambda reading, rule: display.ago(reading.figures.data_as_of),
    value=lambda reading, rule: _iso(reading.figures.data_as_of),
    time=True,
)
# The rule's reading, first in every message ("Now"), and the level reached for a rule with several.
VALUE = Figure("value", "Now", lambda check: check.value)
LEVEL_REACHED = Figure(
    "level_reached",
    "Level reached",
    lambda level: f"{level.index} of {level.of}: {level.scale.crossing(level.threshold)}",
)
BALANCE_FIGURES = (BALANCE, SPEND_PER_DAY, RUNWAY)


def _limit_words(reading: Reading, rule: AlertRule) -> str:
    facts = reading.facts
    if facts.limit_amount is None:
        return "none"
    return f"{format_money(facts.limit_amount)}{display.per_window(facts.limit_duration)}"


def _spend_today(reading: Reading, rule: AlertRule) -> str:
    days = reading.daily_spend()
    return format_money(days[-1][1] if days else None)


def _month_words(reading: Reading, rule: AlertRule) -> str | None:
    month = reading.figures.month
    return format_money(month.to_date) if month else None


def _forecast_words(reading: Reading, rule: AlertRule) -> str | None:
    month = reading.figures.month
    return format_money(month.forecast) if month and month.forecast is not None else None


MONTH_FIGURES = (
    Figure("month_to_date", "Billed this month", _month_words),
    Figure("month_forecast", "Forecast for the month", _forecast_words),
    Figure(
        "monthly_budget", "Monthly budget", lambda reading, rule: format_money(reading.account.monthly_budget)
    ),
)


# --- headlines now ------------------------------------------------------------------------------------------
# Each answers None without figures (live_headline then keeps the written headline, as it does itself).
def _low_balance_now(facts: Facts, rule: AlertRule, scale: Scale, now: datetime) -> str | None:
    figures = facts.figures
    if figures is None or figures.balance is None:
        return None
    return headlines.low_balance(facts.name, figures, rule.threshold, scale.level_now(rule, figures.balance))


def _runway_now(facts: Facts, rule: AlertRule, scale: Scale, now: datetime) -> str | None:
    figures = facts.figures
    if figures is None or figures.balance is None:
        return None
    return headlines.runway(facts.name, figures, rule.threshold, scale.level_now(rule, figures.runway_days))


def _spending_limit_now(facts: Facts, rule: AlertRule, scale: Scale, now: datetime) -> str | None:
    if facts.figures is None:
        return None
    level = scale.level_now(rule, facts.figures.limit_used_percent)
    return headlines.spending_limit(facts, rule.threshold, level)


def _stale_data_now(facts: Facts, rule: AlertRule, scale: Scale, now: datetime) -> str | None:
    if facts.figures is None:
        return None
    return headlines.stale_data(facts.name, facts.figures.data_as_of, now)


def _auto_topup_now(facts: Facts, rule: AlertRule, scale: Scale, now: datetime) -> str | None:
    error, disabled_reason = facts.auto_topup[2:]
    if not (error or disabled_reason):
        return None
    return headlines.auto_topup(facts.name, display.auto_topup_reason(disabled_reason or error))


# --- the kinds ----------------------------------------------------------------------------------------------
TOP_UP = FixPage("Top up {account.name}", "topup_new")

KINDS: dict[str, Kind] = {
    entry.kind: entry
    for entry in (
        Kind(
            kind=AlertKind.LOW_BALANCE,
            check=check_low_balance,
            scale=Scale(DOLLARS, Direction.BELOW, levels=True),
            bounds=(Decimal(1), Decimal(10**6)),
            threshold_help="Alert when the balance falls below this many dollars.",
            margin_help="Resolve only once the balance is this many dollars above the threshold.",
            levels_example="threshold 100, then 20, 5",
            defaults=Defaults("10", "5", ("5", "2")),
            headline_now=_low_balance_now,
            fix=TOP_UP,
            figures=(*BALANCE_FIGURES, AUTO_TOPUP),
        ),
        Kind(
            kind=AlertKind.RUNWAY,
            check=check_runway,
            # A runway under half a day would alert all the time.
            scale=Scale(Unit("days", "days", 1), Direction.BELOW, levels=True),
            bounds=(Decimal("0.5"), Decimal(365)),
            threshold_help=(
                "Alert when the credit lasts fewer than this many days at the recent spend per day."
            ),
            margin_help="Resolve only once the runway is this many days above the threshold.",
            levels_example="threshold 14, then 7, 2",
            defaults=Defaults("3", "1", ("1",)),
            headline_now=_runway_now,
            fix=TOP_UP,
            figures=(*BALANCE_FIGURES, AUTO_TOPUP),
        ),
        Kind(
            kind=AlertKind.AUTO_TOPUP_FAILING,
            check=check_auto_topup_failing,
            # A state, not a reading: the threshold is how many hours a failure stays news.
            scale=Scale(Unit("hours", "hours", 0)),
            bounds=(Decimal(1), Decimal(24 * 365)),
            threshold_help=(
                "Alert when auto top-up reports an error or a disabled reason, "
                "or failed within this many hours."
            ),
            margin_help="Not used: the alert resolves as soon as auto top-up reports no failure.",
            defaults=Defaults("24", "0"),
            headline_now=_auto_topup_now,
            fix=FixPage("Add a card in the Cloudflare dashboard", external=dashboard_billing_url),
            figures=(AUTO_TOPUP, *BALANCE_FIGURES),
        ),
        Kind(
            kind=AlertKind.SPENDING_LIMIT,
            check=check_spending_limit,
            scale=Scale(PERCENT, Direction.ABOVE, levels=True),
            bounds=(Decimal(1), Decimal(100)),
            threshold_help="Alert when the period's spend is above this percentage of the spending limit.",
            margin_help="Resolve only once the spend is this many points (%) below the threshold.",
            levels_example="threshold 50, then 80, 95, 100",
            defaults=Defaults("80", "5", ("95", "100")),
            headline_now=_spending_limit_now,
            warning=True,
            exceeded_label=headlines.EXCEEDED_LABEL,
            exceeded=lambda figures, subject_state: headlines.limit_exceeded(figures),
            tells_exceeded=True,
            fix=FixPage("Review the spending limit", "spending_limit"),
            figures=(
                Figure("spending_limit", "Spending limit", _limit_words),
                Figure(
                    "spent_this_window",
                    "Spent this window",
                    lambda reading, rule: format_money(reading.figures.limit_spent),
                ),
                Figure(
                    "used", "Used", lambda reading, rule: display.percent(reading.figures.limit_used_percent)
                ),
                Figure(
                    "alert_above",
                    "Alert above",
                    lambda reading, rule: display.threshold_percent(rule.threshold),
                ),
                *BALANCE_FIGURES,
            ),
        ),
        Kind(
            kind=AlertKind.STALE_DATA,
            check=check_stale_data,
            # A check tighter than the sync interval would alert all the time.
            scale=Scale(Unit("minutes", "minutes", 0), Direction.ABOVE),
            bounds=(Decimal(5), Decimal(60 * 24 * 30)),
            threshold_help=(
                "Alert the portal's operators when no sync has succeeded for this many minutes "
                "(the API or the token is broken)."
            ),
            margin_help="Resolve only once the data is this many minutes fresher than the threshold.",
            defaults=Defaults("60", "0"),
            headline_now=_stale_data_now,
            warning=True,
            operators_only=True,
            fix=FixPage("Open the account and refresh", "account"),
            figures=(DATA_AS_OF, *BALANCE_FIGURES),
        ),
        Kind(
            kind=AlertKind.USAGE_SPIKE,
            check=check_usage_spike,
            # A spike of 1× would be any day.
            scale=Scale(Unit("times the median day", "×", 1), Direction.ABOVE),
            bounds=(Decimal("1.1"), Decimal(1000)),
            threshold_help="Alert when a day's usage exceeds this multiple of the previous 14 days' median.",
            margin_help="Resolve only once the day's usage is this much below the threshold multiple.",
            defaults=Defaults("3", "0.5"),
            warning=True,
            fix=FixPage("See the usage", "usage"),
            figures=(Figure("spend_today", "Spend today", _spend_today), *BALANCE_FIGURES),
        ),
        Kind(
            kind=AlertKind.GATEWAY_RULE,
            check_subjects=check_gateway_rules,
            subject_states=rule_states,
            scale=Scale(PERCENT, Direction.ABOVE, levels=True),
            bounds=(Decimal(1), Decimal(100)),
            threshold_help="Alert when a gateway rule's window has used more than this % of its budget.",
            margin_help="Resolve only once the rule's use is this many points (%) below the threshold.",
            levels_example="threshold 50, then 80, 95, 100",
            defaults=Defaults("80", "5", ("95", "100")),
            warning=True,
            exceeded_label="Gateway rule exceeded",
            exceeded=lambda figures, subject_state: subject_state == RuleState.EXCEEDED,
            fix=FixPage("Open the rules of {gateway}", "gateway_rules", args=("gateway",)),
            figures=(*BALANCE_FIGURES, AUTO_TOPUP),
            email_templates="gateway_rule",
        ),
        Kind(
            kind=AlertKind.LEDGER_UNBALANCED,
            check=check_ledger,
            scale=Scale(DOLLARS, Direction.ABOVE),
            bounds=(Decimal("0.01"), Decimal(10**6)),
            threshold_help=(
                "Alert when a settled day of the last 31 has an unexplained difference of at least this many "
                "dollars (the balance fell more than billed usage and credit explain)."
            ),
            margin_help="Not used: the alert resolves once no settled day is that far out.",
            defaults=Defaults("1", "0"),
            fix=FixPage("Open the ledger of {account.name}", "ledger"),
            figures=(
                Figure("ledger_day", "Day", lambda reading, rule: reading.ledger_words()[0]),
                Figure("unexplained", "Unexplained", lambda reading, rule: reading.ledger_words()[1]),
                *BALANCE_FIGURES,
            ),
        ),
        Kind(
            kind=AlertKind.FORECAST_OVER_BUDGET,
            check=check_forecast_over_budget,
            scale=Scale(PERCENT, Direction.ABOVE),
            bounds=(Decimal(50), Decimal(1000)),
            threshold_help=(
                "Alert when the end-of-month forecast is above this % of the account's monthly budget."
            ),
            margin_help="Resolve only once the forecast is this many points (%) below the threshold.",
            defaults=Defaults("100", "5"),
            warning=True,
            fix=FixPage("Review the budget of {account.name}", "budget"),
            figures=(*MONTH_FIGURES, *BALANCE_FIGURES),
        ),
    )
}


def get(kind: str) -> Kind | None:
    """The entry of a kind; None for one the portal no longer knows (an old row's)."""
    return KINDS.get(kind)


# --- the watchdog's portal-wide kinds -----------------------------------------------------------------------
@dataclass(frozen=True)
class PortalKind:
    """A portal-wide alert (no account): its headline once resolved, the page that fixes it, and its figures
    (read from the sweeps' status)."""

    kind: PortalAlertKind
    resolved_headline: str
    fix_words: str
    figures: tuple[Figure, ...]

    @property
    def label(self) -> str:
        return self.kind.label


PORTAL_KINDS: dict[str, PortalKind] = {
    PortalAlertKind.SWEEPS_STALLED: PortalKind(
        kind=PortalAlertKind.SWEEPS_STALLED,
        resolved_headline="Background jobs running again: balance sweeps complete",
        fix_words="Open the portal",
        figures=(
            Figure(
                "last_completed_sweep",
                "Last completed sweep",
                lambda status: _iso(status.last_completed),
                time=True,
            ),
            Figure(
                "expected_every",
                "Expected every",
                lambda status: f"{int(status.expected_every.total_seconds())} s",
            ),
        ),
    ),
}
