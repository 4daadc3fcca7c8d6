"""Reading each kind of rule against an account's local figures: a Check per rule, or None when unknown. Each
check is given its kind's `Scale` (the kind's entry in `billing.alerts.kinds` names the check), so which way a
kind alerts is read from its entry, never written here.

Rules read the latest successful balance snapshot: a failed or unknown fetch is never a balance of 0, it
only makes the data stale, and stale data is mailed to the portal's operators.
"""

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing import display
from billing.alerts import headlines
from billing.alerts.levels import Scale
from billing.figures import daily_spend, ledger
from billing.figures.month import budget_of
from billing.models import Account, AlertRule, BalanceSnapshot, LedgerDay
from billing.money import format_money

SPIKE_BASELINE_DAYS = 14
# A median over fewer days than this says little about what a normal day is.
SPIKE_MIN_BASELINE_DAYS = 7


@dataclass(frozen=True)
class Check:
    """One rule's reading. `firing` opens or keeps an alert; `cleared` resolves it; neither is the margin."""

    firing: bool
    cleared: bool
    headline: str
    value: str
    details: dict = field(default_factory=dict)
    # The most severe level of the rule the reading crosses (1 = the threshold; 0: none, or not a level kind).
    level: int = 0


@dataclass(frozen=True)
class Change:
    kind: str
    action: str  # "opened", "escalated", "reminded", "resolved", "retired"
    event_id: int
    emailed: bool


def check_low_balance(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    balance = reading.figures.balance
    if balance is None:
        return None  # never synced: that is the stale-data rule's business, not a zero balance
    level = scale.reached(rule, balance)
    return Check(
        firing=level > 0,
        cleared=scale.clears(rule, balance),
        headline=headlines.low_balance(
            reading.facts.name, reading.figures, rule.threshold, scale.level(rule, level)
        ),
        value=format_money(balance),
        details={"balance": str(balance), "threshold": str(rule.threshold)},
        level=level,
    )


def check_runway(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    figures = reading.figures
    if figures.balance is None:
        return None
    if figures.runway_days is None:
        # No spending: the credit lasts for ever.
        headline = headlines.runway(reading.facts.name, figures, rule.threshold)
        return Check(False, True, headline, "no end in sight")
    runway = Decimal(str(figures.runway_days))
    level = scale.reached(rule, runway)
    return Check(
        firing=level > 0,
        cleared=scale.clears(rule, runway),
        headline=headlines.runway(reading.facts.name, figures, rule.threshold, scale.level(rule, level)),
        value=display.days(runway),
        details={"runway_days": str(runway), "threshold": str(rule.threshold)},
        level=level,
    )


def check_auto_topup_failing(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    snapshot = reading.snapshot
    if snapshot is None:
        return None
    # A failure time is news for `threshold` hours: a fresh one alerts even when no error is reported.
    recent_failure = snapshot.auto_topup_last_failed_at is not None and (
        reading.now - snapshot.auto_topup_last_failed_at < timedelta(seconds=int(rule.threshold * 3600))
    )
    code = snapshot.auto_topup_disabled_reason or snapshot.auto_topup_error
    reason = display.auto_topup_reason(code) if code else ""
    if not reason and recent_failure:
        reason = f"last failed {snapshot.auto_topup_last_failed_at:%Y-%m-%d %H:%M} UTC"
    failing = bool(reason)
    return Check(
        firing=failing,
        cleared=not failing,
        headline=headlines.auto_topup(reading.facts.name, reason),
        value=reason or "working",
        details={
            "error": snapshot.auto_topup_error,
            "disabled_reason": snapshot.auto_topup_disabled_reason,
            "last_failed_at": snapshot.auto_topup_last_failed_at.isoformat()
            if snapshot.auto_topup_last_failed_at
            else None,
        },
    )


def check_spending_limit(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    used = reading.figures.limit_used_percent
    if used is None:
        # No limit set (or removed): nothing can be nearly used up.
        return Check(False, True, headlines.spending_limit(reading.facts, rule.threshold), "no limit")
    used = Decimal(str(used))
    level = scale.reached(rule, used)
    return Check(
        firing=level > 0,
        cleared=scale.clears(rule, used),
        headline=headlines.spending_limit(reading.facts, rule.threshold, scale.level(rule, level)),
        value=display.percent(used),
        details={"used_percent": str(used), "spent": str(reading.figures.limit_spent)},
        level=level,
    )


def check_stale_data(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    since = reading.figures.data_as_of or reading.account.created_at
    minutes = Decimal((reading.now - since).total_seconds()) / 60
    return Check(
        firing=scale.reached(rule, minutes) > 0,
        cleared=scale.clears(rule, minutes),
        headline=headlines.stale_data(reading.facts.name, reading.figures.data_as_of, reading.now),
        value=f"data as of {since:%Y-%m-%d %H:%M} UTC" if reading.figures.data_as_of else "never synced",
        details={"data_as_of": since.isoformat() if reading.figures.data_as_of else None},
    )


def check_usage_spike(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    days = reading.daily_spend()
    if len(days) < SPIKE_MIN_BASELINE_DAYS + 1:
        return None
    (day, latest), baseline = days[-1], [amount for _, amount in days[-(SPIKE_BASELINE_DAYS + 1) : -1]]
    median = statistics.median(baseline)
    if median <= 0:
        return None  # nothing normal to compare with
    factor = latest / median
    return Check(
        firing=scale.reached(rule, factor) > 0,
        cleared=scale.clears(rule, factor),
        headline=headlines.usage_spike(reading.facts.name, day, latest, factor, len(baseline), median),
        value=f"{format_money(latest)} ({display.number(factor)}x median)",
        details={"day": str(day), "spend": str(latest), "median": str(median), "factor": str(factor)},
    )


def check_ledger(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    worst = reading.ledger_worst()
    amount = abs(worst.difference or Decimal(0)) if worst else Decimal(0)
    day = worst.day if worst else None
    difference = worst.difference if worst else None
    return Check(
        firing=scale.reached(rule, amount) > 0,
        cleared=scale.clears(rule, amount),
        headline=headlines.ledger_unbalanced(reading.facts.name, day, difference),
        value=format_money(difference) if worst else "balances",
        details={"day": str(day) if day else None, "difference": str(difference) if worst else None},
    )


def check_forecast_over_budget(reading: "Reading", rule: AlertRule, scale: Scale) -> Check | None:
    """The end-of-month forecast as a percent of the account's monthly budget; None (no alert either way)
    without a budget or a forecast (too little history)."""
    month = reading.figures.month
    budget = budget_of(
        reading.account.monthly_budget, month.to_date if month else None, month.forecast if month else None
    )
    if budget is None or budget.forecast_percent is None or month is None or month.forecast is None:
        return None
    percent = budget.forecast_percent
    return Check(
        firing=scale.reached(rule, percent) > 0,
        cleared=scale.clears(rule, percent),
        headline=headlines.forecast_over_budget(reading.facts.name, month.forecast, budget.amount, percent),
        value=display.percent(percent),
        details={
            "forecast": str(month.forecast),
            "budget": str(budget.amount),
            "to_date": str(month.to_date),
        },
    )


class Reading:
    """What the rules of one account read, fetched once per evaluation: the stored figures the pages show
    (`billing.figures.stored_figures`), so an alert and a card never disagree."""

    def __init__(self, account: Account, now: datetime) -> None:
        self.account = account
        self.now = now
        self.facts = headlines.facts_for([account], now)[account.pk]
        if self.facts.figures is None:  # stored_figures answers for every account it is given
            raise LookupError(f"no figures for account {account.pk}")
        self.figures = self.facts.figures
        self.snapshot = BalanceSnapshot.objects.filter(account=account).order_by("-taken_at").first()
        self._daily: list[tuple[date, Decimal]] | None = None
        self._ledger: tuple[LedgerDay | None] | None = None

    def daily_spend(self) -> list[tuple[date, Decimal]]:
        """[(day, dollars)] oldest first, today (partial) last."""
        if self._daily is None:
            self._daily = daily_spend(self.account, SPIKE_BASELINE_DAYS + 1, self.now)
        return self._daily

    def ledger_worst(self) -> LedgerDay | None:
        """The recent day whose ledger is furthest out (`ledger.unbalanced_recently`), if any."""
        if self._ledger is None:
            self._ledger = (ledger.unbalanced_recently([self.account.pk], self.now).get(self.account.pk),)
        return self._ledger[0]

    def ledger_words(self) -> tuple[str | None, str | None]:
        """(that day, its unexplained difference) as messages show them; (None, None) when all balance."""
        worst = self.ledger_worst()
        return (f"{worst.day:%Y-%m-%d}", format_money(worst.difference)) if worst else (None, None)

    def auto_topup_state(self) -> str:
        """The auto top-up as every page words it ("On — failing: no card on file", "Off", …)."""
        snapshot = self.snapshot
        if snapshot is None:
            return "unknown"
        return display.auto_topup_state(
            snapshot.auto_topup_amount,
            snapshot.auto_topup_threshold,
            snapshot.auto_topup_error,
            snapshot.auto_topup_disabled_reason,
        )
