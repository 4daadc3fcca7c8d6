"""How a kind's readings meet its thresholds (`Scale`: which way it alerts, in what unit, with one threshold
or several levels), and the levels of a rule: several thresholds of one kind (low balance $10 / $5 / $2;
80 / 95 / 100 % of a spending limit), least severe first; level 1 is the rule's threshold.

An alert opens when its reading crosses level 1 and records the most severe level reached; crossing a more
severe one while the alert is open announces that level once (the event's level only goes up, so a reading
moving back and forth across any level sends nothing new); the alert resolves once, when the reading clears
level 1 by the rule's margin (hysteresis).

Each kind's scale is in its entry (`billing.alerts.kinds`): the direction of a kind is written there once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from billing import display
from billing.models import AlertRule
from billing.money import format_money

MAX_LEVELS = 5


class Direction(enum.Enum):
    """Which way a reading alerts: BELOW its threshold (a balance, a runway) or ABOVE it (a share used)."""

    BELOW = "below"
    ABOVE = "above"

    def crosses(self, value: Decimal, threshold: Decimal) -> bool:
        return value < threshold if self is Direction.BELOW else value > threshold

    def clears(self, value: Decimal, threshold: Decimal, margin: Decimal) -> bool:
        """Whether `value` is back past `threshold` by `margin` (hysteresis): an open alert resolves."""
        return value >= threshold + margin if self is Direction.BELOW else value <= threshold - margin

    def ordered(self, values: list[Decimal]) -> list[Decimal]:
        """Levels least severe first: descending for readings that alert below, ascending for the others."""
        return sorted(set(values), reverse=self is Direction.BELOW)

    @property
    def more_severe(self) -> str:
        """How a more severe level compares with the threshold: "lower" or "higher"."""
        return "lower" if self is Direction.BELOW else "higher"


@dataclass(frozen=True)
class Unit:
    """How a kind's threshold is typed and read: word in messages, sign beside the field, decimal places."""

    words: str
    sign: str
    places: int
    money: bool = False

    def format(self, value: Decimal) -> str:
        """A threshold as people read it: "$10.00", "0.5 days", "80%", "1.5×", "1 hour"."""
        if self.money:
            return format_money(value)
        number = display.plain_number(value)
        if self.sign in ("%", "×"):
            return f"{number}{self.sign}"
        word = self.sign[:-1] if number == "1" else self.sign
        return f"{number} {word}"


@dataclass(frozen=True)
class Scale:
    """A kind's readings against its thresholds. `direction` None: the kind alerts on a state (its threshold
    is a time window, say), not on a reading crossing it; `levels`: a rule may have several."""

    unit: Unit
    direction: Direction | None = None
    levels: bool = False

    def _direction(self) -> Direction:
        if self.direction is None:
            raise ValueError("this kind alerts on a state: its readings cross no threshold")
        return self.direction

    def levels_of(self, rule: AlertRule) -> list[Decimal]:
        """The rule's levels, least severe first (one, the threshold, for kinds without levels)."""
        return rule.levels if self.levels else [rule.threshold]

    def reached(self, rule: AlertRule, value: Decimal) -> int:
        """The most severe level `value` crosses (1 = the threshold), 0 when none."""
        direction = self._direction()
        found = 0
        for index, threshold in enumerate(self.levels_of(rule), start=1):
            if direction.crosses(value, threshold):
                found = index
        return found

    def clears(self, rule: AlertRule, value: Decimal) -> bool:
        """Whether `value` clears the rule's threshold by its margin: an open alert resolves."""
        return self._direction().clears(value, rule.threshold, rule.hysteresis)

    def level(self, rule: AlertRule, index: int) -> Level | None:
        """Level `index` of a rule with several levels; None for a one-level rule or no level."""
        found = self.levels_of(rule)
        if len(found) < 2 or not 1 <= index <= len(found):
            return None
        return Level(index=index, of=len(found), threshold=found[index - 1], scale=self)

    def level_now(self, rule: AlertRule, value) -> Level | None:
        """The level a reading (any number, or None when unknown) is at for a rule with several levels."""
        if value is None:
            return None
        return self.level(rule, self.reached(rule, Decimal(str(value))))

    def crossing(self, threshold: Decimal) -> str:
        """ "below $20.00", "above 95%"."""
        return f"{self._direction().value} {self.unit.format(threshold)}"


@dataclass(frozen=True)
class Level:
    index: int  # 1 = the threshold
    of: int
    threshold: Decimal
    scale: Scale

    @property
    def words(self) -> str:
        """ "below $20.00 (level 2 of 3)", "above 95% (level 3 of 4)"."""
        return f"{self.scale.crossing(self.threshold)} (level {self.index} of {self.of})"

    def as_payload(self) -> dict:
        """The webhook's `level`: {"index": 2, "of": 3, "threshold": "20"} (the kind's unit)."""
        return {"index": self.index, "of": self.of, "threshold": display.plain_number(self.threshold)}
