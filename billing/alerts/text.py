"""The words of every alert as a page shows it: its label, colour and headline, read from each kind's entry
(`billing.alerts.kinds`) and the same stored figures the pages show (`billing.alerts.headlines`), so a banner,
a badge, an email and a card say one value in one wording.

An open alert's headline is written again from today's figures wherever it is shown; a kind whose figures
are not stored (a usage spike names its day) keeps the headline it opened with, said "as of" then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from billing import display
from billing.alerts.headlines import Facts
from billing.alerts.kinds import KINDS
from billing.figures import AccountFigures
from billing.models import AlertEvent


# --- label and colour ---------------------------------------------------------------------------------------
def label(kind: str, figures: AccountFigures | None = None, subject_state: str = "") -> str:
    """ "Low balance", "Spending limit nearly used", "Spending limit exceeded" (at 100 % or more), "Gateway
    rule exceeded" (its traffic refused), …"""
    entry = KINDS.get(kind)
    if entry is None:
        return display.humanise(kind)
    if entry.exceeded_label and entry.exceeded(figures, subject_state):
        return entry.exceeded_label
    return entry.label


def severity(kind: str, figures: AccountFigures | None = None, subject_state: str = "") -> str:
    """ "warn" (amber) or "bad" (red): a limit reached is red, one nearly used amber."""
    entry = KINDS.get(kind)
    if entry is None or entry.exceeded(figures, subject_state):
        return "bad"
    return "warn" if entry.warning else "bad"


def subject_states(events: list[AlertEvent]) -> dict[tuple[int, str], str]:
    """{(account id, subject): its current state} for the open alerts among `events` whose kind has subjects
    with states (a gateway rule's), one query per such kind."""
    states: dict[tuple[int, str], str] = {}
    for name, entry in KINDS.items():
        of_kind = [event for event in events if event.kind == name]
        if entry.subject_states is not None and of_kind:
            states.update(entry.subject_states(of_kind))
    return states


def live_headline(event: AlertEvent, facts: Facts | None, now: datetime | None = None) -> str:
    """An alert's headline as of now: written again from today's figures while it is open; a resolved one,
    or one whose figures are not stored, is the headline it had, with the time it was written."""
    now = now or timezone.now()
    rule = event.rule if event.rule_id else None
    entry = KINDS.get(event.kind)
    if not event.is_open or facts is None or facts.figures is None or rule is None or entry is None:
        return as_of(event)
    headline = entry.headline_now(facts, rule, entry.scale, now) if entry.headline_now else None
    return headline or as_of(event)


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
    entry = KINDS.get(event.kind)
    if event.rule is None or entry is None:
        return ""
    reached = entry.level(event.rule, event.level)
    return reached.words if reached else ""


def shown(events, facts: dict[int, Facts], now: datetime | None = None) -> list[Shown]:
    """The events with their label, colour and headline as of now (open ones from today's figures)."""
    rows = []
    events = list(events)
    states = subject_states(events)
    for event in events:
        account_facts = facts.get(event.account_id)
        figures = account_facts.figures if account_facts and event.is_open else None
        if event.is_open:
            state = states.get((event.account_id, event.subject), "")
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
