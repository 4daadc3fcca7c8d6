"""Evaluating rules: open, remind and resolve alerts, and hand each message decided to a notifier.

An `AlertEvent` row is the alert's state and its history. At most one per (account, kind, subject) is open,
which the database enforces (the subject is empty for account-wide kinds; a kind with several subjects, such
as one per gateway rule, reads each: see its entry in `kinds`); reminders and resolutions claim the row with a
conditional update.

What to say is decided here; delivering it is not this package's business, and it imports nothing that
delivers. The caller passes `notify` (`billing.pipeline` passes the outbox's), called with one `Notice`
inside the transaction of the change that caused it, so a message is queued if and only if its change is
recorded, and two workers evaluating the same account at once produce one message.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing.alerts import attention
from billing.alerts.checks import Change, Check, Reading
from billing.alerts.kinds import KINDS
from billing.alerts.rules import rules_for
from billing.models import Account, AlertEvent, AlertRule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One message an evaluation decided to send: the alert's `state` ("opened", "reminder", "escalated" or
    "resolved") and, for reminders and levels, their number (`sequence`), with what the message is written
    from."""

    state: str
    reading: Reading
    rule: AlertRule
    check: Check
    event: AlertEvent
    sequence: int = 0
    # A spending limit newly exceeded: said with the opening words, to channels as reminder number 0.
    exceeded: bool = False


# Queues a Notice's deliveries in the caller's transaction; True when the rule's own email was queued.
Notify = Callable[[Notice], bool]


# --- Lifecycle ----------------------------------------------------------------------------------


def _exceeded_now(kind: str, reading: Reading) -> bool:
    """Whether an alert of a kind that tells its exceeding once is exceeded now."""
    entry = KINDS[kind]
    return entry.tells_exceeded and entry.exceeded(reading.figures, "")


def _exceeded_mark(kind: str, reading: Reading) -> dict:
    return {"exceeded_at": reading.now.isoformat()} if _exceeded_now(kind, reading) else {}


def _open(notify: Notify, reading: Reading, rule: AlertRule, check: Check, subject: str) -> Change | None:
    try:
        with transaction.atomic():
            event = AlertEvent.objects.create(
                account=reading.account,
                kind=rule.kind,
                rule=rule,
                subject=subject,
                headline=check.headline[:300],
                level=max(check.level, 1),
                opened_at=reading.now,
                last_notified_at=reading.now,
                details={"opened": check.details, **_exceeded_mark(rule.kind, reading)},
            )
            emailed = notify(Notice("opened", reading, rule, check, event))
    except IntegrityError:
        # Another worker opened this alert a moment ago, and mailed it.
        return None
    return Change(rule.kind, "opened", event.pk, emailed)


def _remind(
    notify: Notify, reading: Reading, rule: AlertRule, check: Check, event: AlertEvent
) -> Change | None:
    if not rule.reminder_hours or attention.reminders_paused(event, reading.now):
        return None
    last = event.last_notified_at or event.opened_at
    if reading.now - last < timedelta(hours=rule.reminder_hours):
        return None
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(
            pk=event.pk, resolved_at__isnull=True, last_notified_at=event.last_notified_at
        ).update(
            last_notified_at=reading.now,
            reminders_sent=F("reminders_sent") + 1,
            # The history shows the alert as its last email told it.
            headline=check.headline[:300],
        )
        if claimed != 1:
            return None
        emailed = notify(Notice("reminder", reading, rule, check, event, sequence=event.reminders_sent + 1))
    return Change(rule.kind, "reminded", event.pk, emailed)


def _resolve(
    notify: Notify, reading: Reading, rule: AlertRule | None, check: Check | None, event: AlertEvent
) -> Change | None:
    details = {**event.details, "resolved": check.details if check else {"reason": "rule switched off"}}
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(pk=event.pk, resolved_at__isnull=True).update(
            resolved_at=reading.now, details=details
        )
        if claimed != 1:
            return None
        emailed = False
        if rule is not None and check is not None:
            event.resolved_at = reading.now
            emailed = notify(Notice("resolved", reading, rule, check, event))
            if emailed:
                # The resolution was emailed too: "last emailed" in the history says when.
                AlertEvent.objects.filter(pk=event.pk).update(last_notified_at=reading.now)
    return Change(event.kind, "resolved" if rule else "retired", event.pk, emailed)


def _escalate(
    notify: Notify, reading: Reading, rule: AlertRule, check: Check, event: AlertEvent
) -> Change | None:
    """An alert of a kind that tells its exceeding (a spending limit) that opened as "nearly used" and is now
    exceeded: one email saying so (its own subject), then reminders as usual. Claimed like a reminder, so it
    is sent once."""
    if not _exceeded_now(event.kind, reading):
        return None
    if event.details.get("exceeded_at"):
        return None
    details = {**event.details, "exceeded_at": reading.now.isoformat(), "exceeded": check.details}
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(
            pk=event.pk, resolved_at__isnull=True, last_notified_at=event.last_notified_at
        ).update(last_notified_at=reading.now, headline=check.headline[:300], details=details)
        if claimed != 1:
            return None
        # Channels hear it as a reminder numbered 0 (reminders count from 1): one per alert.
        emailed = notify(Notice("reminder", reading, rule, check, event, exceeded=True))
    return Change(rule.kind, "escalated", event.pk, emailed)


def _raise_level(
    notify: Notify, reading: Reading, rule: AlertRule, check: Check, event: AlertEvent
) -> Change | None:
    """The reading crossed a more severe level than the alert has announced: one message naming it (the
    outbox's key: state "escalated", number = the level), claimed by raising the event's level, so two
    workers send it once. A reading back above that level and down again sends nothing: the level stays."""
    level = KINDS[rule.kind].level(rule, check.level)
    if level is None or check.level <= event.level:
        return None
    details = dict(event.details)
    details["levels"] = [*details.get("levels", []), {"level": level.index, "at": reading.now.isoformat()}]
    if _exceeded_now(rule.kind, reading):
        # This message says the limit is exceeded: no second one for it.
        details.setdefault("exceeded_at", reading.now.isoformat())
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(
            pk=event.pk, resolved_at__isnull=True, level__lt=level.index
        ).update(
            level=level.index,
            last_notified_at=reading.now,
            headline=check.headline[:300],
            details=details,
            # Worse than when someone said they were on it: told, and reminded again from here.
            acknowledged_at=None,
            acknowledged_by=None,
            acknowledged_by_name="",
            snoozed_until=None,
        )
        if claimed != 1:
            return None
        event.level, event.details = level.index, details
        emailed = notify(Notice("escalated", reading, rule, check, event, sequence=level.index))
    return Change(rule.kind, "escalated", event.pk, emailed)


def evaluate_account(account: Account, *, notify: Notify, now: datetime | None = None) -> list[Change]:
    """Reads the account's rules against its local figures; opens, reminds and resolves, handing each message
    to `notify`; returns the changes.

    Safe to run from several workers at once: each change, and its message, happens once.
    """
    reading = Reading(account, now or timezone.now())
    rules = rules_for(account)
    open_events = {
        (event.kind, event.subject): event
        for event in AlertEvent.objects.filter(account=account, resolved_at__isnull=True)
    }
    changes: list[Change | None] = []
    read: set[tuple[str, str]] = set()
    for kind, rule in rules.items():
        for subject, check in KINDS[kind].readings(reading, rule).items():
            read.add((kind, subject))
            if check is None:
                continue  # unknown: leave the alert as it is
            event = open_events.get((kind, subject))
            if event is None:
                if check.firing:
                    changes.append(_open(notify, reading, rule, check, subject))
            elif check.firing:
                changes.append(
                    _raise_level(notify, reading, rule, check, event)
                    or _escalate(notify, reading, rule, check, event)
                    or _remind(notify, reading, rule, check, event)
                )
            elif check.cleared:
                changes.append(_resolve(notify, reading, rule, check, event))
    for (kind, subject), event in open_events.items():
        if kind not in rules or (KINDS[kind].subjects and (kind, subject) not in read):
            # The rule was switched off or deleted, or its subject is gone: the alert ends quietly.
            changes.append(_resolve(notify, reading, None, None, event))
    return [change for change in changes if change is not None]


@dataclass
class EvaluationSummary:
    accounts: int = 0
    changes: int = 0
    failed_accounts: list[str] = field(default_factory=list)


def evaluate_all(*, notify: Notify, now: datetime | None = None) -> EvaluationSummary:
    """Evaluates every active account (see `evaluate_account`); one account's error is logged and does not
    stop the others."""
    summary = EvaluationSummary()
    for account in Account.objects.filter(is_active=True):
        summary.accounts += 1
        try:
            summary.changes += len(evaluate_account(account, notify=notify, now=now))
        except Exception:
            logger.exception("alert evaluation failed for account %s", account.cloudflare_id)
            summary.failed_accounts.append(account.cloudflare_id)
    return summary
