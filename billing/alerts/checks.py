"""Reading each kind of rule against an account's local figures: a Check per rule, or None when unknown.

Rules read the latest successful balance snapshot: a failed or unknown fetch is never a balance of 0, it
only makes the data stale, and stale data is mailed to the portal's operators.
"""

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing.figures import daily_spend, figures_for
from billing.models import (
    Account,
    AlertKind,
    AlertRule,
    BalanceSnapshot,
)
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


@dataclass(frozen=True)
class Change:
    kind: str
    action: str  # "opened", "reminded", "resolved", "retired"
    event_id: int
    emailed: bool


def money_text(amount: Decimal | None) -> str:
    return format_money(amount)


def _number(value: Decimal | float | int | None, places: int = 1) -> str:
    if value is None:
        return "–"
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    text = f"{rounded:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def days_text(value) -> str:
    if value is None:
        return "no end in sight"
    text = _number(value)
    return f"{text} day" if text == "1" else f"{text} days"


def check_low_balance(reading: "Reading", rule: AlertRule) -> Check | None:
    balance = reading.figures.balance
    if balance is None:
        return None  # never synced: that is the stale-data rule's business, not a zero balance
    name = reading.account.name
    return Check(
        firing=balance < rule.threshold,
        cleared=balance >= rule.threshold + rule.hysteresis,
        headline=f"Low balance: {name} {money_text(balance)}, threshold {money_text(rule.threshold)}",
        value=money_text(balance),
        details={"balance": str(balance), "threshold": str(rule.threshold)},
    )


def check_runway(reading: "Reading", rule: AlertRule) -> Check | None:
    figures = reading.figures
    if figures.balance is None:
        return None
    runway = figures.runway_days
    if runway is None:
        # No spending: the credit lasts for ever.
        return Check(False, True, f"Runway: {reading.account.name} is not spending", days_text(None))
    runway = Decimal(str(runway))
    return Check(
        firing=runway < rule.threshold,
        cleared=runway >= rule.threshold + rule.hysteresis,
        headline=(
            f"Short runway: {reading.account.name} has {days_text(runway)} of credit left "
            f"({money_text(figures.balance)} at {money_text(figures.spend_per_day)}/day), "
            f"threshold {days_text(rule.threshold)}"
        ),
        value=days_text(runway),
        details={"runway_days": str(runway), "threshold": str(rule.threshold)},
    )


def check_auto_topup_failing(reading: "Reading", rule: AlertRule) -> Check | None:
    snapshot = reading.snapshot
    if snapshot is None:
        return None
    # A failure time is news for `threshold` hours: a fresh one alerts even when no error is reported.
    recent_failure = snapshot.auto_topup_last_failed_at is not None and (
        reading.now - snapshot.auto_topup_last_failed_at < timedelta(seconds=int(rule.threshold * 3600))
    )
    reason = snapshot.auto_topup_error or snapshot.auto_topup_disabled_reason
    if not reason and recent_failure:
        reason = f"last failed {snapshot.auto_topup_last_failed_at:%Y-%m-%d %H:%M} UTC"
    failing = bool(reason)
    return Check(
        firing=failing,
        cleared=not failing,
        headline=f"Auto top-up failing: {reading.account.name} ({reason})"
        if failing
        else f"Auto top-up working: {reading.account.name}",
        value=reason or "working",
        details={
            "error": snapshot.auto_topup_error,
            "disabled_reason": snapshot.auto_topup_disabled_reason,
            "last_failed_at": snapshot.auto_topup_last_failed_at.isoformat()
            if snapshot.auto_topup_last_failed_at
            else None,
        },
    )


def check_spending_limit(reading: "Reading", rule: AlertRule) -> Check | None:
    used = reading.figures.limit_used_percent
    if used is None:
        # No limit set (or removed): nothing can be nearly used up.
        return Check(False, True, f"Spending limit: none on {reading.account.name}", "no limit")
    used = Decimal(str(used))
    return Check(
        firing=used > rule.threshold,
        cleared=used <= rule.threshold - rule.hysteresis,
        headline=(
            f"Spending limit: {reading.account.name} has used {_number(used, 0)}% "
            f"({money_text(reading.figures.limit_spent)}), alert above {_number(rule.threshold, 0)}%"
        ),
        value=f"{_number(used, 0)}%",
        details={"used_percent": str(used), "spent": str(reading.figures.limit_spent)},
    )


def check_stale_data(reading: "Reading", rule: AlertRule) -> Check | None:
    since = reading.figures.data_as_of or reading.account.created_at
    minutes = Decimal((reading.now - since).total_seconds()) / 60
    if reading.figures.data_as_of is None:
        headline = f"Stale data: {reading.account.name} has never synced successfully"
    else:
        headline = (
            f"Stale data: no successful sync for {reading.account.name} in {_number(minutes, 0)} minutes"
        )
    return Check(
        firing=minutes > rule.threshold,
        cleared=minutes <= rule.threshold - rule.hysteresis,
        headline=headline,
        value=f"data as of {since:%Y-%m-%d %H:%M} UTC" if reading.figures.data_as_of else "never synced",
        details={"data_as_of": since.isoformat() if reading.figures.data_as_of else None},
    )


def check_usage_spike(reading: "Reading", rule: AlertRule) -> Check | None:
    days = reading.daily_spend()
    if len(days) < SPIKE_MIN_BASELINE_DAYS + 1:
        return None
    (day, latest), baseline = days[-1], [amount for _, amount in days[-(SPIKE_BASELINE_DAYS + 1) : -1]]
    median = statistics.median(baseline)
    if median <= 0:
        return None  # nothing normal to compare with
    factor = latest / median
    return Check(
        firing=factor > rule.threshold,
        cleared=factor <= rule.threshold - rule.hysteresis,
        headline=(
            f"Usage spike: {reading.account.name} spent {money_text(latest)} on {day}, "
            f"{_number(factor)}x the {len(baseline)}-day median {money_text(median)}"
        ),
        value=f"{money_text(latest)} ({_number(factor)}x median)",
        details={"day": str(day), "spend": str(latest), "median": str(median), "factor": str(factor)},
    )


CHECKS = {
    AlertKind.LOW_BALANCE: check_low_balance,
    AlertKind.RUNWAY: check_runway,
    AlertKind.AUTO_TOPUP_FAILING: check_auto_topup_failing,
    AlertKind.SPENDING_LIMIT: check_spending_limit,
    AlertKind.STALE_DATA: check_stale_data,
    AlertKind.USAGE_SPIKE: check_usage_spike,
}


class Reading:
    """What the rules of one account read, fetched once per evaluation."""

    def __init__(self, account: Account, now: datetime):
        self.account = account
        self.now = now
        self.figures = figures_for(account, now)
        self.snapshot = BalanceSnapshot.objects.filter(account=account).order_by("-taken_at").first()
        self._daily: list[tuple[date, Decimal]] | None = None

    def daily_spend(self) -> list[tuple[date, Decimal]]:
        """[(day, dollars)] oldest first, today (partial) last."""
        if self._daily is None:
            self._daily = daily_spend(self.account, SPIKE_BASELINE_DAYS + 1, self.now)
        return self._daily

    def auto_topup_state(self) -> str:
        snapshot = self.snapshot
        if snapshot is None:
            return "unknown"
        if snapshot.auto_topup_error or snapshot.auto_topup_disabled_reason:
            return f"failing: {snapshot.auto_topup_error or snapshot.auto_topup_disabled_reason}"
        if snapshot.auto_topup_amount is None or snapshot.auto_topup_threshold is None:
            return "off"
        return (
            f"{money_text(snapshot.auto_topup_amount)} when below {money_text(snapshot.auto_topup_threshold)}"
        )
