"""Levels of a rule: several thresholds of one kind (low balance $10 / $5 / $2; 80 / 95 / 100 % of a spending
limit), least severe first; level 1 is the rule's threshold.

An alert opens when its reading crosses level 1 and records the most severe level reached; crossing a more
severe one while the alert is open announces that level once (the event's level only goes up, so a reading
moving back and forth across any level sends nothing new); the alert resolves once, when the reading clears
level 1 by the rule's margin (hysteresis).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing import display
from billing.models import AlertKind, AlertRule
from billing.money import format_money

MAX_LEVELS = 5
# Kinds whose reading alerts below a level (more severe is lower); the other level kinds alert above.
BELOW = frozenset({AlertKind.LOW_BALANCE, AlertKind.RUNWAY})
LEVEL_KINDS = frozenset({*BELOW, AlertKind.SPENDING_LIMIT, AlertKind.GATEWAY_RULE})


@dataclass(frozen=True)
class Level:
    index: int  # 1 = the threshold
    of: int
    threshold: Decimal
    kind: str

    @property
    def words(self) -> str:
        """ "below $20.00 (level 2 of 3)", "above 95% (level 3 of 4)"."""
        return f"{crossing(self.kind, self.threshold)} (level {self.index} of {self.of})"

    def as_payload(self) -> dict:
        """The webhook's `level`: {"index": 2, "of": 3, "threshold": "20"} (the kind's unit)."""
        return {"index": self.index, "of": self.of, "threshold": display.plain_number(self.threshold)}


def amount(kind: str, value: Decimal) -> str:
    """A level as the headlines word it: "$20.00", "7 days", "95%"."""
    if kind == AlertKind.LOW_BALANCE:
        return format_money(value)
    if kind == AlertKind.RUNWAY:
        return display.day_count(value)
    return display.threshold_percent(value)


def crossing(kind: str, threshold: Decimal) -> str:
    return f"{'below' if kind in BELOW else 'above'} {amount(kind, threshold)}"


def levels_of(rule: AlertRule) -> list[Decimal]:
    """The rule's levels, least severe first (one, the threshold, for kinds without levels)."""
    return rule.levels if rule.kind in LEVEL_KINDS else [rule.threshold]


def crosses(kind: str, value: Decimal, threshold: Decimal) -> bool:
    return value < threshold if kind in BELOW else value > threshold


def reached(rule: AlertRule, value: Decimal) -> int:
    """The most severe level `value` crosses (1 = the threshold), 0 when none."""
    found = 0
    for index, threshold in enumerate(levels_of(rule), start=1):
        if crosses(rule.kind, value, threshold):
            found = index
    return found


def level(rule: AlertRule, index: int) -> Level | None:
    """Level `index` of a rule with several levels; None for a one-level rule or no level."""
    found = levels_of(rule)
    if len(found) < 2 or not 1 <= index <= len(found):
        return None
    return Level(index=index, of=len(found), threshold=found[index - 1], kind=rule.kind)


def ordered(kind: str, values: list[Decimal]) -> list[Decimal]:
    """Levels least severe first: descending for the kinds that alert below, ascending for the others."""
    return sorted(set(values), reverse=kind in BELOW)
