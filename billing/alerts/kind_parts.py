"""The parts of an alert kind's entry in `billing.alerts.kinds`: the `Kind` itself, the figures it
reports (`Figure`, each with a stable machine key), the page that fixes it (`FixPage`) and its portal-wide
default rule (`Defaults`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from billing.alerts.checks import Check, Reading
from billing.alerts.headlines import Facts
from billing.alerts.levels import Level, Scale
from billing.figures import AccountFigures
from billing.models import Account, AlertEvent, AlertKind, AlertRule


# --- the parts of an entry --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One figure a kind reports. `key` is the webhook's and stable: consumers rely on it, so it never
    changes; `label` is how emails and Slack name it, free to reword. `words(source…)` is the figure as an
    email shows it; `value(source…)` as the webhook carries it (by default the words); `time`: the value is
    an ISO 8601 moment."""

    key: str
    label: str
    words: Callable[..., str | None]
    value: Callable[..., str | None] | None = None
    time: bool = False

    def value_of(self, *source) -> str | None:
        """The webhook's value: None for an unknown figure ("–" or empty in words)."""
        value = (self.value or self.words)(*source)
        return None if value in (None, "", "–") else str(value)


@dataclass(frozen=True)
class FixPage:
    """The page that fixes an alert and its button's words. `words` may name the account ({account.name}) and
    the alert's details ({gateway}); the page is a portal page under the account's (`url_name`, with the
    details named in `args` after the account id) or one elsewhere (`external`)."""

    words: str
    url_name: str = ""
    args: tuple[str, ...] = ()
    external: Callable[[Account], str] | None = None

    def link(self, account: Account, details: dict | None = None) -> tuple[str, str]:
        """(button words, absolute URL)."""
        details = details or {}
        words = self.words.format(account=account, **details)
        if self.external is not None:
            return words, self.external(account)
        args = [account.cloudflare_id, *(details[name] for name in self.args)]
        return words, settings.PORTAL_BASE_URL + reverse(self.url_name, args=args)


@dataclass(frozen=True)
class Defaults:
    """The portal-wide default rule of a kind, as the migrations seed it (in the kind's unit)."""

    threshold: str
    hysteresis: str
    further_levels: tuple[str, ...] = ()


def _never(figures: AccountFigures | None, subject_state: str) -> bool:
    return False


@dataclass(frozen=True)
class Kind:
    """Everything about one kind of alert. What it checks: `check(reading, rule, scale)` reads an account-wide
    kind (a Check, or None when unknown), `check_subjects` one with several subjects per account ({subject:
    Check or None}). `headline_now(facts, rule, scale, now)` words an open alert from today's figures (None:
    the headline it opened with stays)."""

    kind: AlertKind
    scale: Scale
    bounds: tuple[Decimal, Decimal]  # (smallest, largest) threshold and level allowed
    threshold_help: str
    margin_help: str
    defaults: Defaults
    fix: FixPage
    figures: tuple[Figure, ...]
    check: Callable[[Reading, AlertRule, Scale], Check | None] | None = None
    check_subjects: Callable[[Reading, AlertRule, Scale], dict[str, Check | None]] | None = None
    headline_now: Callable[[Facts, AlertRule, Scale, datetime], str | None] | None = None
    levels_example: str = ""  # the rule form's example of levels, for kinds with levels
    warning: bool = False  # drawn amber (it warns) rather than red (it alarms)
    # The more urgent state of a kind with a limit: its label, and whether an alert is in it now (from the
    # account's figures, or the state of the alert's subject).
    exceeded_label: str = ""
    exceeded: Callable[[AccountFigures | None, str], bool] = _never
    # The exceeding is told once, as its own message, when the alert opened as "nearly used".
    tells_exceeded: bool = False
    operators_only: bool = False  # emailed to the portal's operators, not to the rule's recipients
    # The subjects' current states ({(account id, subject): state}) of the open alerts among some events.
    subject_states: Callable[[list[AlertEvent]], dict[tuple[int, str], str]] | None = None
    # Its emails' templates: `emails/<prefix>_opened…` and the figures partial `emails/_<prefix>_figures…`.
    email_templates: str = "alert"

    def __post_init__(self) -> None:
        if (self.check is None) == (self.check_subjects is None):
            raise ValueError(f"{self.kind}: give either check or check_subjects")

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def subjects(self) -> bool:
        """Whether the kind reads several subjects per account (one alert each)."""
        return self.check_subjects is not None

    def readings(self, reading: Reading, rule: AlertRule) -> dict[str, Check | None]:
        """{subject: Check or None} of one rule: the one empty subject for account-wide kinds."""
        if self.check_subjects is not None:
            return self.check_subjects(reading, rule, self.scale)
        assert self.check is not None  # __post_init__ makes sure
        return {"": self.check(reading, rule, self.scale)}

    def level(self, rule: AlertRule, index: int) -> Level | None:
        return self.scale.level(rule, index)

    def threshold_text(self, value: Decimal) -> str:
        """A threshold or margin in the kind's unit: "$10.00", "0.5 days", "80%"."""
        return self.scale.unit.format(value)

    def levels_text(self, rule: AlertRule) -> str:
        """A rule's levels as people read them: "$10.00 / $5.00 / $2.00", "80% / 95% / 100%"."""
        return " / ".join(self.threshold_text(level) for level in self.scale.levels_of(rule))
