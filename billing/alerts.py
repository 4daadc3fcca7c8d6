"""Alert rules: evaluate them against local figures, open, remind and resolve alerts, queue their emails.

An `AlertEvent` row is the alert's state and its history. At most one per (account, kind) is open, which
the database enforces; reminders and resolutions claim the row with a conditional update. Each email is
queued in the same transaction as the change that caused it, so two workers evaluating the same account at
once produce one email. Rules read the latest successful balance snapshot: a failed or unknown fetch is
never a balance of 0, it only makes the data stale, and stale data is mailed to the portal's operators.
"""

import logging
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.figures import daily_spend, figures_for
from billing.mail import queue_email
from billing.models import (
    Account,
    AccountAccess,
    AlertEvent,
    AlertKind,
    AlertRule,
    BalanceSnapshot,
    Role,
)
from billing.money import format_money

logger = logging.getLogger(__name__)

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


# --- Reading each kind of rule ------------------------------------------------------------------


def _money(amount: Decimal | None) -> str:
    return format_money(amount)


def _number(value: Decimal | float | int | None, places: int = 1) -> str:
    if value is None:
        return "–"
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    text = f"{rounded:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _days(value) -> str:
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
        headline=f"Low balance: {name} {_money(balance)}, threshold {_money(rule.threshold)}",
        value=_money(balance),
        details={"balance": str(balance), "threshold": str(rule.threshold)},
    )


def check_runway(reading: "Reading", rule: AlertRule) -> Check | None:
    figures = reading.figures
    if figures.balance is None:
        return None
    runway = figures.runway_days
    if runway is None:
        # No spending: the credit lasts for ever.
        return Check(False, True, f"Runway: {reading.account.name} is not spending", _days(None))
    runway = Decimal(str(runway))
    return Check(
        firing=runway < rule.threshold,
        cleared=runway >= rule.threshold + rule.hysteresis,
        headline=(
            f"Short runway: {reading.account.name} has {_days(runway)} of credit left "
            f"({_money(figures.balance)} at {_money(figures.spend_per_day)}/day), "
            f"threshold {_days(rule.threshold)}"
        ),
        value=_days(runway),
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
            f"({_money(reading.figures.limit_spent)}), alert above {_number(rule.threshold, 0)}%"
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
            f"Usage spike: {reading.account.name} spent {_money(latest)} on {day}, "
            f"{_number(factor)}x the {len(baseline)}-day median {_money(median)}"
        ),
        value=f"{_money(latest)} ({_number(factor)}x median)",
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
        return f"{_money(snapshot.auto_topup_amount)} when below {_money(snapshot.auto_topup_threshold)}"


# --- Rules and recipients -----------------------------------------------------------------------


def rules_for(account: Account) -> dict[str, AlertRule]:
    """The enabled rule of each kind for the account: its own rule, else the portal-wide default."""
    rules: dict[str, AlertRule] = {}
    own: dict[str, AlertRule] = {}
    for rule in AlertRule.objects.filter(Q(account=account) | Q(account__isnull=True)):
        (own if rule.account_id else rules)[rule.kind] = rule
    rules.update(own)
    # An account's disabled rule switches the kind off for it, default or not.
    return {kind: rule for kind, rule in rules.items() if rule.enabled}


def operator_emails() -> list[str]:
    """ALERT_OPERATOR_EMAILS and every active superuser's address: they can mend tokens and the API."""
    superusers = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return [*settings.ALERT_OPERATOR_EMAILS, *superusers.values_list("email", flat=True)]


def recipients_for(rule: AlertRule, account: Account) -> list[str]:
    if rule.kind == AlertKind.STALE_DATA:
        return operator_emails()
    addresses = list(rule.recipients)
    if rule.notify_managers:
        managers = AccountAccess.objects.filter(
            account=account, role__in=[Role.MANAGER, Role.ADMIN], user__is_active=True
        ).exclude(user__email="")
        addresses += managers.values_list("user__email", flat=True)
    return addresses


def _email_context(reading: Reading, rule: AlertRule, check: Check, event: AlertEvent) -> dict:
    base = settings.PORTAL_BASE_URL
    account = reading.account
    return {
        "account": account,
        "event": event,
        "rule": rule,
        "kind_label": AlertKind(rule.kind).label,
        "check": check,
        "balance": _money(reading.figures.balance),
        "balance_taken_at": reading.figures.balance_taken_at,
        "spend_per_day": _money(reading.figures.spend_per_day),
        "runway": _days(reading.figures.runway_days) if reading.figures.balance is not None else "unknown",
        "auto_topup": reading.auto_topup_state(),
        "data_as_of": reading.figures.data_as_of,
        "account_url": f"{base}/accounts/{account.cloudflare_id}/",
        "topup_url": f"{base}/accounts/{account.cloudflare_id}/topups/new/",
        "alerts_url": f"{base}/accounts/{account.cloudflare_id}/alerts/",
    }


# --- Lifecycle ----------------------------------------------------------------------------------


def _open(reading: Reading, rule: AlertRule, check: Check) -> Change | None:
    try:
        with transaction.atomic():
            event = AlertEvent.objects.create(
                account=reading.account,
                kind=rule.kind,
                rule=rule,
                headline=check.headline[:300],
                opened_at=reading.now,
                last_notified_at=reading.now,
                details={"opened": check.details},
            )
            email = queue_email(
                "alert_opened",
                _email_context(reading, rule, check, event),
                recipients_for(rule, reading.account),
                account=reading.account,
                event=event,
            )
    except IntegrityError:
        # Another worker opened this alert a moment ago, and mailed it.
        return None
    return Change(rule.kind, "opened", event.pk, email is not None)


def _remind(reading: Reading, rule: AlertRule, check: Check, event: AlertEvent) -> Change | None:
    if not rule.reminder_hours:
        return None
    last = event.last_notified_at or event.opened_at
    if reading.now - last < timedelta(hours=rule.reminder_hours):
        return None
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(
            pk=event.pk, resolved_at__isnull=True, last_notified_at=event.last_notified_at
        ).update(last_notified_at=reading.now, reminders_sent=F("reminders_sent") + 1)
        if claimed != 1:
            return None
        email = queue_email(
            "alert_reminder",
            _email_context(reading, rule, check, event),
            recipients_for(rule, reading.account),
            account=reading.account,
            event=event,
        )
    return Change(rule.kind, "reminded", event.pk, email is not None)


def _resolve(
    reading: Reading, rule: AlertRule | None, check: Check | None, event: AlertEvent
) -> Change | None:
    details = {**event.details, "resolved": check.details if check else {"reason": "rule switched off"}}
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(pk=event.pk, resolved_at__isnull=True).update(
            resolved_at=reading.now, details=details
        )
        if claimed != 1:
            return None
        email = None
        if rule is not None and check is not None:
            event.resolved_at = reading.now
            email = queue_email(
                "alert_resolved",
                _email_context(reading, rule, check, event),
                recipients_for(rule, reading.account),
                account=reading.account,
                event=event,
            )
    return Change(event.kind, "resolved" if rule else "retired", event.pk, email is not None)


def evaluate_account(account: Account, now: datetime | None = None) -> list[Change]:
    """Reads the account's rules against its local figures; opens, reminds and resolves; returns the changes.

    Safe to run from several workers at once: each change, and its email, happens once.
    """
    reading = Reading(account, now or timezone.now())
    rules = rules_for(account)
    open_events = {
        event.kind: event for event in AlertEvent.objects.filter(account=account, resolved_at__isnull=True)
    }
    changes: list[Change | None] = []
    for kind, rule in rules.items():
        check = CHECKS[kind](reading, rule)
        if check is None:
            continue  # unknown: leave the alert as it is
        event = open_events.get(kind)
        if event is None:
            if check.firing:
                changes.append(_open(reading, rule, check))
        elif check.firing:
            changes.append(_remind(reading, rule, check, event))
        elif check.cleared:
            changes.append(_resolve(reading, rule, check, event))
    for kind, event in open_events.items():
        if kind not in rules:
            # The rule was switched off or deleted: the alert ends quietly.
            changes.append(_resolve(reading, None, None, event))
    return [change for change in changes if change is not None]


@dataclass
class EvaluationSummary:
    accounts: int = 0
    changes: int = 0
    failed_accounts: list[str] = field(default_factory=list)


def evaluate_all(now: datetime | None = None) -> EvaluationSummary:
    """Evaluates every active account; one account's error is logged and does not stop the others."""
    summary = EvaluationSummary()
    for account in Account.objects.filter(is_active=True):
        summary.accounts += 1
        try:
            summary.changes += len(evaluate_account(account, now))
        except Exception:
            logger.exception("alert evaluation failed for account %s", account.cloudflare_id)
            summary.failed_accounts.append(account.cloudflare_id)
    return summary
