"""Evaluating rules: open, remind and resolve alerts, and hand each message decided to a notifier.

An `AlertEvent` row is the alert's state and its history. At most one per (account, kind, subject) is open,
which the database enforces (the subject is empty for account-wide kinds; a kind with several subjects, such
as one per gateway rule, reads each in `SUBJECT_CHECKS`); reminders and resolutions claim the row with a
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

from billing.alerts import levels, text
from billing.alerts.checks import CHECKS, Change, Check, Reading
from billing.alerts.gateway_checks import check_gateway_rules
from billing.alerts.rules import rules_for
from billing.models import Account, AlertEvent, AlertKind, AlertRule

logger = logging.getLogger(__name__)

# Kinds with several subjects per account: a reading returns {subject: Check or None}.
SUBJECT_CHECKS = {AlertKind.GATEWAY_RULE: check_gateway_rules}


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


def _checks(kind: str, reading: Reading, rule: AlertRule) -> dict[str, Check | None]:
    """{subject: reading} of one kind: the one empty subject for account-wide kinds."""
    if kind in SUBJECT_CHECKS:
        return SUBJECT_CHECKS[kind](reading, rule)
    return {"": CHECKS[kind](reading, rule)}


# --- Lifecycle ----------------------------------------------------------------------------------


def _exceeded_mark(reading: Reading) -> dict:
    return {"exceeded_at": reading.now.isoformat()} if text.limit_exceeded(reading.figures) else {}


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
                details={"opened": check.details, **_exceeded_mark(reading)},
            )
            emailed = notify(Notice("opened", reading, rule, check, event))
    except IntegrityError:
        # Another worker opened this alert a moment ago, and mailed it.
        return None
    return Change(rule.kind, "opened", event.pk, emailed)


def _remind(
    notify: Notify, reading: Reading, rule: AlertRule, check: Check, event: AlertEvent
) -> Change | None:
    if not rule.reminder_hours:
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
    """A spending limit alert that opened as "nearly used" and is now exceeded: one email saying so (its own
    subject), then reminders as usual. Claimed like a reminder, so it is sent once."""
    if event.kind != AlertKind.SPENDING_LIMIT or not text.limit_exceeded(reading.figures):
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
    level = levels.level(rule, check.level)
    if level is None or check.level <= event.level:
        return None
    details = dict(event.details)
    details["levels"] = [*details.get("levels", []), {"level": level.index, "at": reading.now.isoformat()}]
    if rule.kind == AlertKind.SPENDING_LIMIT and text.limit_exceeded(reading.figures):
        # This message says the limit is exceeded: no second one for it.
        details.setdefault("exceeded_at", reading.now.isoformat())
    with transaction.atomic():
        claimed = AlertEvent.objects.filter(
            pk=event.pk, resolved_at__isnull=True, level__lt=level.index
        ).update(
            level=level.index, last_notified_at=reading.now, headline=check.headline[:300], details=details
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
        for subject, check in _checks(kind, reading, rule).items():
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
        if kind not in rules or (kind in SUBJECT_CHECKS and (kind, subject) not in read):
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
