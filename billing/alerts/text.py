"""The words of every alert: its label, colour and headline, read from the same stored figures the pages show
(`billing.figures.stored_figures`) and formatted by `billing.display`, so a banner, a badge, an email and a
card say one value in one wording.

An open alert's headline is written again from today's figures wherever it is shown; a kind whose figures
are not stored (a usage spike names its day) keeps the headline it opened with, said "as of" then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from billing import display
from billing.alerts import levels
from billing.alerts.levels import Level
from billing.figures import AccountFigures, stored_figures
from billing.models import (
    Account,
    AlertEvent,
    AlertKind,
    AutoTopUpConfig,
    GatewayRule,
    RuleState,
    SpendingLimit,
)
from billing.models.alerts import WARNING_KINDS
from billing.money import format_money

EXCEEDED_LABEL = "Spending limit exceeded"
RULE_EXCEEDED_LABEL = "Gateway rule exceeded"


@dataclass(frozen=True)
class Facts:
    """What the words of one account's alerts read: its stored figures, its limit and its auto top-up."""

    name: str
    figures: AccountFigures | None
    limit_amount: Decimal | None = None
    limit_duration: str = ""
    auto_topup: tuple = (None, None, "", "")  # amount, threshold, error, disabled reason


def _one_to_one(account: Account, name: str):
    try:
        return getattr(account, name)
    except (SpendingLimit.DoesNotExist, AutoTopUpConfig.DoesNotExist):
        return None


def facts_for(accounts, now: datetime | None = None) -> dict[int, Facts]:
    """{account pk: Facts}; fetch the accounts with select_related("summary", "spending_limit", "auto_topup")
    to read them without a query each."""
    accounts = list(accounts)
    figures = stored_figures(accounts, now)
    facts = {}
    for account in accounts:
        limit = _one_to_one(account, "spending_limit")
        config = _one_to_one(account, "auto_topup")
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


# --- label and colour ---------------------------------------------------------------------------------------
def limit_exceeded(figures: AccountFigures | None) -> bool:
    used = figures.limit_used_percent if figures is not None else None
    return used is not None and used >= 100


def label(kind: str, figures: AccountFigures | None = None, rule_state: str = "") -> str:
    """ "Low balance", "Spending limit nearly used", "Spending limit exceeded" (at 100 % or more), "Gateway
    rule exceeded" (its traffic refused), …"""
    if kind == AlertKind.SPENDING_LIMIT and limit_exceeded(figures):
        return EXCEEDED_LABEL
    if kind == AlertKind.GATEWAY_RULE and rule_state == RuleState.EXCEEDED:
        return RULE_EXCEEDED_LABEL
    return AlertKind(kind).label if kind in AlertKind.values else display.humanise(kind)


def severity(kind: str, figures: AccountFigures | None = None, rule_state: str = "") -> str:
    """ "warn" (amber) or "bad" (red): a limit reached is red, one nearly used amber."""
    if kind == AlertKind.SPENDING_LIMIT and limit_exceeded(figures):
        return "bad"
    if kind == AlertKind.GATEWAY_RULE and rule_state == RuleState.EXCEEDED:
        return "bad"
    return "warn" if kind in WARNING_KINDS else "bad"


def gateway_rule_states(events) -> dict[tuple[int, str], str]:
    """{(account id, subject): the rule's current state} for the open gateway-rule alerts among `events`, in
    one query (none when there are none)."""
    wanted = [e for e in events if e.kind == AlertKind.GATEWAY_RULE and e.is_open]
    if not wanted:
        return {}
    rules = GatewayRule.objects.select_related("gateway").filter(
        gateway__account_id__in={e.account_id for e in wanted},
        gateway__gateway_id__in={e.subject.split("/", 1)[0] for e in wanted},
    )
    return {(rule.gateway.account_id, rule.subject): rule.state for rule in rules}


# --- headlines ----------------------------------------------------------------------------------------------
# A rule with several levels names the level reached ("below $20.00 (level 2 of 3)") where a one-level rule
# names its threshold.
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
    return f"{label(AlertKind.SPENDING_LIMIT)}: {facts.name} {used}, {where}"


def auto_topup(name: str, reason: str) -> str:
    if not reason:
        return f"Auto top-up working: {name}"
    return f"Auto top-up failing: {name} ({reason})"


def stale_data(name: str, data_as_of: datetime | None, now: datetime) -> str:
    if data_as_of is None:
        return f"Stale data: {name} has never synced successfully"
    minutes = Decimal((now - data_as_of).total_seconds()) / 60
    return f"Stale data: no successful sync for {name} in {display.number(minutes, 0)} minutes"


def live_headline(event: AlertEvent, facts: Facts | None, now: datetime | None = None) -> str:
    """An alert's headline as of now: written again from today's figures while it is open; a resolved one,
    or one whose figures are not stored, is the headline it had, with the time it was written."""
    now = now or timezone.now()
    rule = event.rule if event.rule_id else None
    if not event.is_open or facts is None or facts.figures is None or rule is None:
        return as_of(event)
    figures, kind = facts.figures, event.kind
    if kind == AlertKind.LOW_BALANCE and figures.balance is not None:
        return low_balance(facts.name, figures, rule.threshold, _level_now(rule, figures.balance))
    if kind == AlertKind.RUNWAY and figures.balance is not None:
        return runway(facts.name, figures, rule.threshold, _level_now(rule, figures.runway_days))
    if kind == AlertKind.SPENDING_LIMIT:
        return spending_limit(facts, rule.threshold, _level_now(rule, figures.limit_used_percent))
    if kind == AlertKind.STALE_DATA:
        return stale_data(facts.name, figures.data_as_of, now)
    if kind == AlertKind.AUTO_TOPUP_FAILING and any(facts.auto_topup[2:]):
        return auto_topup(facts.name, display.auto_topup_reason(facts.auto_topup[3] or facts.auto_topup[2]))
    return as_of(event)


def _level_now(rule, value) -> Level | None:
    if value is None:
        return None
    return levels.level(rule, levels.reached(rule, Decimal(str(value))))


def as_of(event: AlertEvent) -> str:
    moment = timezone.localtime(event.last_notified_at or event.opened_at)
    return f"{event.headline} (as of {moment:%b %-d, %H:%M})"


@dataclass(frozen=True)
class Shown:
    """An alert as a page shows it."""

    event: AlertEvent
    label: str
    severity: str
    headline: str

    @property
    def level(self) -> str:
        """The most severe level reached, for rules with several: "below $5.00 (level 2 of 3)". Worked out
        only where a page shows it (the overview reads just the columns it needs)."""
        return level_reached(self.event)


def level_reached(event: AlertEvent) -> str:
    """The most severe level the alert reached, in words; "" for a one-level rule or a removed rule (or one
    whose levels changed so that the index no longer names one)."""
    if event.rule is None:
        return ""
    reached = levels.level(event.rule, event.level)
    return reached.words if reached else ""


def shown(events, facts: dict[int, Facts], now: datetime | None = None) -> list[Shown]:
    """The events with their label, colour and headline as of now (open ones from today's figures)."""
    rows = []
    events = list(events)
    rule_states = gateway_rule_states(events)
    for event in events:
        account_facts = facts.get(event.account_id)
        figures = account_facts.figures if account_facts and event.is_open else None
        if event.is_open:
            state = rule_states.get((event.account_id, event.subject), "") if rule_states else ""
            rows.append(
                Shown(
                    event,
                    label(event.kind, figures, state),
                    severity(event.kind, figures, state),
                    live_headline(event, account_facts, now),
                )
            )
        else:
            rows.append(Shown(event, label(event.kind), severity(event.kind), event.headline))
    return rows
