"""For every alert kind, local data that makes its alert open, cross a more severe level (kinds with levels),
and resolve: one rule per kind, the account's only one, each step a change to the tables it reads.

Helpers for tests that walk every kind through its life (tests/notifications/test_kinds_delivered.py); import
them, they are not fixtures. Call them with the clock held still (time_machine): usage days are UTC days.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from billing.models import (
    Account,
    AlertKind,
    AlertRule,
    Gateway,
    GatewayRule,
    LedgerDay,
    LedgerState,
    SpendingLimit,
)
from tests.support.alerts import only_rule
from tests.support.history import day_usage, failed_sync, snapshot, utc_midnight

GATEWAY = "chat-app"


def the_rule(account: Account, kind: str, threshold: str, hysteresis: str, *further: str) -> AlertRule:
    """The account's one rule (the migrations' defaults removed): an hourly reminder, the finance address."""
    return only_rule(account, kind, threshold, hysteresis, further_levels=list(further), reminder_hours=1)


def limited(account: Account, amount: str = "100") -> SpendingLimit:
    """A monthly spending limit of `amount` dollars, as the spending-limit sync stores it."""
    return SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": True,
            "amount": Decimal(amount),
            "duration": "monthly",
            "strategy": "sliding",
            "synced_at": timezone.now(),
        },
    )[0]


def ninety_of_a_hundred_spent(account: Account) -> SpendingLimit:
    """A $100 monthly limit with $90 spent ($30 on each of three past UTC days) and a $500 balance."""
    limit = limited(account, "100")
    for days_ago in (2, 3, 4):
        day_usage(account, utc_midnight(days_ago), "30")
    snapshot(account, "500")
    return limit


def _gateway_rule(account: Account, used: str) -> None:
    gateway, _ = Gateway.objects.get_or_create(
        account=account,
        gateway_id=GATEWAY,
        defaults={"spend_limits_enabled": True, "synced_at": timezone.now()},
    )
    GatewayRule.objects.update_or_create(
        gateway=gateway,
        position=0,
        defaults={
            "rule_id": "rule-1",
            "limit": Decimal(100),
            "window_seconds": 86400,
            "window_spend": Decimal(used),
            "used_percent": Decimal(used),
            "state": "ok",
            "computed_at": timezone.now(),
        },
    )


@dataclass(frozen=True)
class Scenario:
    """The steps of one kind's alert; `escalate` is None for a kind without levels."""

    rule: Callable[[Account], AlertRule]
    open: Callable[[Account], None]
    resolve: Callable[[Account], None]
    escalate: Callable[[Account], None] | None = None


def _short_runway(account: Account) -> None:
    for days_ago in range(1, 8):
        day_usage(account, utc_midnight(days_ago), "10")
    snapshot(account, "25")  # 2.5 days at $10 a day


def _spike_baseline(account: Account) -> None:
    for days_ago in range(1, 15):
        day_usage(account, utc_midnight(days_ago), "10" if days_ago % 2 else "12")
    day_usage(account, utc_midnight(0), "55")
    snapshot(account, "500")


def _stale(account: Account) -> None:
    snapshot(account, "300", minutes_ago=90)
    failed_sync(account)


def _rule_nearly_used(account: Account) -> None:
    snapshot(account, "500")
    _gateway_rule(account, "85")


def _limit_nearly_used(account: Account) -> None:
    limited(account, "100")
    day_usage(account, utc_midnight(2), "40")
    day_usage(account, utc_midnight(3), "45")  # 85 % of $100
    snapshot(account, "500")


def _ledger_day(account: Account, state: str, difference: str) -> None:
    """Yesterday's ledger row, settled, in `state` with that difference (as figures.ledger writes it)."""
    LedgerDay.objects.update_or_create(
        account=account,
        day=utc_midnight(1).date(),
        defaults={
            "state": state,
            "difference": Decimal(difference),
            "settled": True,
            "computed_at": timezone.now(),
        },
    )


def _ledger_unbalanced(account: Account) -> None:
    snapshot(account, "500")
    _ledger_day(account, LedgerState.UNEXPLAINED, "-5")


def budgeted(account: Account, budget: str) -> None:
    account.monthly_budget = Decimal(budget)
    account.save(update_fields=["monthly_budget"])


def _forecast_over_budget(account: Account) -> None:
    """$10 on each of the last ten UTC days and a $500 balance: the month is on course for well over $100."""
    budgeted(account, "100")
    for days_ago in range(1, 11):
        day_usage(account, utc_midnight(days_ago), "10")
    snapshot(account, "500")


SCENARIOS: dict[str, Scenario] = {
    AlertKind.LOW_BALANCE: Scenario(
        rule=lambda account: the_rule(account, AlertKind.LOW_BALANCE, "10", "5", "5"),
        open=lambda account: snapshot(account, "8"),
        escalate=lambda account: snapshot(account, "4"),
        resolve=lambda account: snapshot(account, "20"),
    ),
    AlertKind.RUNWAY: Scenario(
        rule=lambda account: the_rule(account, AlertKind.RUNWAY, "3", "1", "1"),
        open=_short_runway,
        escalate=lambda account: snapshot(account, "5"),
        resolve=lambda account: snapshot(account, "100"),
    ),
    AlertKind.AUTO_TOPUP_FAILING: Scenario(
        rule=lambda account: the_rule(account, AlertKind.AUTO_TOPUP_FAILING, "24", "0"),
        open=lambda account: snapshot(
            account,
            "40",
            auto_topup_amount=Decimal(50),
            auto_topup_threshold=Decimal(20),
            auto_topup_disabled_reason="no_payment_method",
        ),
        resolve=lambda account: snapshot(
            account, "90", auto_topup_amount=Decimal(50), auto_topup_threshold=Decimal(20)
        ),
    ),
    AlertKind.SPENDING_LIMIT: Scenario(
        rule=lambda account: the_rule(account, AlertKind.SPENDING_LIMIT, "80", "5", "95"),
        open=_limit_nearly_used,
        escalate=lambda account: day_usage(account, utc_midnight(4), "12"),  # 97 %
        resolve=lambda account: limited(account, "1000"),
    ),
    AlertKind.STALE_DATA: Scenario(
        rule=lambda account: the_rule(account, AlertKind.STALE_DATA, "60", "0"),
        open=_stale,
        resolve=lambda account: snapshot(account, "300"),
    ),
    AlertKind.USAGE_SPIKE: Scenario(
        rule=lambda account: the_rule(account, AlertKind.USAGE_SPIKE, "3", "0.5"),
        open=_spike_baseline,
        resolve=lambda account: day_usage(account, utc_midnight(0), "11"),
    ),
    AlertKind.GATEWAY_RULE: Scenario(
        rule=lambda account: the_rule(account, AlertKind.GATEWAY_RULE, "80", "5", "95"),
        open=_rule_nearly_used,
        escalate=lambda account: _gateway_rule(account, "97"),
        resolve=lambda account: _gateway_rule(account, "10"),
    ),
    AlertKind.LEDGER_UNBALANCED: Scenario(
        rule=lambda account: the_rule(account, AlertKind.LEDGER_UNBALANCED, "1", "0"),
        open=_ledger_unbalanced,
        resolve=lambda account: _ledger_day(account, LedgerState.BALANCED, "0"),
    ),
    AlertKind.FORECAST_OVER_BUDGET: Scenario(
        rule=lambda account: the_rule(account, AlertKind.FORECAST_OVER_BUDGET, "100", "5"),
        open=_forecast_over_budget,
        resolve=lambda account: budgeted(account, "10000"),
    ),
}
