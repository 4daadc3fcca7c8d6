"""Config writes whose answer may be lost (auto top-up, spending limit, gateway rules): the intent row claimed
before Cloudflare is called, as a top-up's (a form posted twice, or eight times at once, acts once), and the
read that settles a write whose answer was lost.

A write with an unknown outcome is never sent again. A follow-up task reads what Cloudflare holds a few
seconds later (through the sync job that mirrors it), and the top-up status job reads again each minute until
one read succeeds; then the intent and an audit entry (`write.settled`) say what Cloudflare holds and whether
that is what was asked.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from celery import signature
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing import audit, pipeline
from billing.models import (
    Account,
    AuditAction,
    AuditOutcome,
    AutoTopUpConfig,
    Gateway,
    SpendingLimit,
    SyncJob,
    WriteIntent,
    WriteOutcome,
)
from billing.money import format_money
from billing.operations.errors import OperationError

logger = logging.getLogger("billing.operations")

SETTLE_TASK = "billing.tasks.settle_write"  # by name: tasks import operations, never the other way round
SETTLE_AFTER_SECONDS = 5
# An unknown write is read about at most this often, and for this long.
SETTLE_GAP = timedelta(minutes=1)
SETTLE_GIVE_UP = timedelta(days=7)


def claim_intent(
    account: Account,
    actor: audit.Actor,
    action: str,
    intent_key: uuid.UUID,
    parameters: dict[str, Any],
    target: str = "",
) -> WriteIntent | None:
    """The new intent row, or None when this intent key was submitted before (nothing may be sent). Raises
    OperationError when the key belongs to another account, gateway or action."""
    person = actor if actor is not None and actor.is_authenticated else None
    try:
        with transaction.atomic():
            return WriteIntent.objects.create(
                intent_key=intent_key,
                account=account,
                target=target,
                action=action,
                parameters=parameters,
                requested_by=person,
            )
    except IntegrityError:
        existing = WriteIntent.objects.filter(intent_key=intent_key).first()
        if existing is None or (existing.account_id, existing.target) != (account.pk, target):
            raise OperationError("This form belongs to another account or gateway; open it again.") from None
        if existing.action != action:
            raise OperationError("This form was submitted for another change; open it again.") from None
        return None


def finish_intent(intent: WriteIntent, outcome: str, error: str = "") -> None:
    """Records how the call ended; an unknown one is read about soon (`settle_write`)."""
    WriteIntent.objects.filter(pk=intent.pk).update(outcome=outcome, error=error)
    if outcome == WriteOutcome.UNKNOWN:
        transaction.on_commit(lambda: _queue_settle(intent.pk))


def _queue_settle(intent_id: int) -> None:
    try:
        signature(SETTLE_TASK, args=(intent_id,)).apply_async(countdown=SETTLE_AFTER_SECONDS)
    except Exception:
        # The status job reads about it anyway within a minute.
        logger.warning("could not queue the read that settles write %s", intent_id, exc_info=True)


def unsettled_writes(account: Account, actions: tuple[str, ...]):
    """This account's writes of these kinds whose outcome is not known yet, newest first."""
    return WriteIntent.objects.filter(account=account, action__in=actions, outcome=WriteOutcome.UNKNOWN)


def recently_settled(account: Account, actions: tuple[str, ...], since: timedelta = timedelta(days=1)):
    """Writes of these kinds a read settled within `since`, newest first: what Cloudflare held."""
    return WriteIntent.objects.filter(
        account=account, action__in=actions, settled_at__gte=timezone.now() - since
    ).order_by("-settled_at")


# ------------------------------------------------------------------------------------------------ the read
def _auto_topup_holds(account: Account) -> tuple[str, dict[str, Any]]:
    config = AutoTopUpConfig.objects.filter(account=account).first()
    if config is None or config.amount is None:
        return "auto top-up off", {"amount_cents": None}
    words = f"auto top-up of {format_money(config.amount)} below {format_money(config.threshold)}"
    return words, {"amount_cents": _cents(config.amount), "threshold_cents": _cents(config.threshold)}


def _spending_limit_holds(account: Account) -> tuple[str, dict[str, Any]]:
    limit = SpendingLimit.objects.filter(account=account).first()
    if limit is None or not limit.enabled or limit.amount is None:
        return "no spending limit", {"amount_cents": None}
    words = f"a spending limit of {format_money(limit.amount)} per {limit.duration} window ({limit.strategy})"
    return words, {
        "amount_cents": _cents(limit.amount),
        "duration": limit.duration,
        "strategy": limit.strategy,
    }


def _gateway_holds(account: Account, target: str) -> tuple[str, dict[str, Any]]:
    gateway = Gateway.objects.filter(account=account, gateway_id=target).first()
    limits = (gateway.raw if gateway else {}).get("spend_limits") or {}
    rules = limits.get("rules") or []
    switch = "on" if limits.get("enabled") else "off"
    words = f"{len(rules)} spend-limit rule(s) on {target}, spend limits {switch}"
    return words, {"after": rules, "enabled_after": bool(limits.get("enabled"))}


def _cents(dollars: Decimal | None) -> int | None:
    return None if dollars is None else int(dollars * 100)


def _same_fields(held: dict[str, Any], asked: dict[str, Any]) -> bool:
    return all(held.get(key) == value for key, value in asked.items())


def _same_rules(held: dict[str, Any], asked: dict[str, Any]) -> bool:
    """Whether the gateway holds the rules sent: Cloudflare numbers a new rule (an id the request had not) and
    may write a budget as a number where the portal sent a string."""
    if held["enabled_after"] != asked.get("enabled_after"):
        return False
    sent, kept = asked.get("after") or [], held["after"]
    return len(sent) == len(kept) and all(map(_same_rule, kept, sent))


def _same_rule(kept: dict[str, Any], sent: dict[str, Any]) -> bool:
    kept = dict(kept)
    if "id" not in sent:
        kept.pop("id", None)
    if "limit" in sent and "limit" in kept:
        return Decimal(str(kept.pop("limit"))) == Decimal(str(sent["limit"])) and kept == {
            key: value for key, value in sent.items() if key != "limit"
        }
    return kept == sent


@dataclass(frozen=True)
class _Reader:
    """Which sync job reads what Cloudflare holds for a kind of write, and that state from the mirror."""

    job: str
    holds: Callable[[Account, str], tuple[str, dict[str, Any]]]
    asked: Callable[[dict[str, Any]], dict[str, Any]]
    same: Callable[[dict[str, Any], dict[str, Any]], bool] = _same_fields


def _removed(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"amount_cents": None}


_AUTO_SET = _Reader(SyncJob.BALANCE, lambda a, _: _auto_topup_holds(a), dict)
_AUTO_DELETE = _Reader(SyncJob.BALANCE, lambda a, _: _auto_topup_holds(a), _removed)
_LIMIT_SET = _Reader(SyncJob.SPENDING_LIMIT, lambda a, _: _spending_limit_holds(a), dict)
_LIMIT_DELETE = _Reader(SyncJob.SPENDING_LIMIT, lambda a, _: _spending_limit_holds(a), _removed)
_GATEWAY = _Reader(
    SyncJob.GATEWAYS,
    _gateway_holds,
    lambda p: {"after": p.get("after"), "enabled_after": p.get("enabled_after")},
    _same_rules,
)
READERS: dict[str, _Reader] = {
    AuditAction.AUTO_TOPUP_SET: _AUTO_SET,
    AuditAction.AUTO_TOPUP_DELETE: _AUTO_DELETE,
    AuditAction.SPENDING_LIMIT_SET: _LIMIT_SET,
    AuditAction.SPENDING_LIMIT_DELETE: _LIMIT_DELETE,
    AuditAction.GATEWAY_RULE_ADD: _GATEWAY,
    AuditAction.GATEWAY_RULE_EDIT: _GATEWAY,
    AuditAction.GATEWAY_RULE_REMOVE: _GATEWAY,
    AuditAction.GATEWAY_RULE_TOGGLE: _GATEWAY,
    AuditAction.GATEWAY_SPEND_LIMITS_ENABLE: _GATEWAY,
}


def settle_write(intent_id: int, now: datetime | None = None) -> bool:
    """Reads what Cloudflare holds for one write of unknown outcome and settles it: succeeded when Cloudflare
    holds what was asked, failed (not applied) otherwise, audited either way with what Cloudflare holds.
    Returns False when the write is settled already, was read about within SETTLE_GAP, or the read failed."""
    now = now or timezone.now()
    intent = _claim_read(intent_id, now)
    if intent is None:
        return False
    reader = READERS[intent.action]
    results = pipeline.run_for_account(reader.job, intent.account)
    if not any(result.job == reader.job and result.succeeded for result in results):
        return False  # no read, no verdict: the next one will tell
    words, holds = reader.holds(intent.account, intent.target)
    applied = reader.same(holds, reader.asked(intent.parameters))
    outcome = WriteOutcome.SUCCEEDED if applied else WriteOutcome.FAILED
    with transaction.atomic():
        changed = WriteIntent.objects.filter(pk=intent.pk, outcome=WriteOutcome.UNKNOWN).update(
            outcome=outcome, settled_at=now, cloudflare_holds=words
        )
        if changed:
            audit.record(
                actor=None,
                account=intent.account,
                action=AuditAction.WRITE_SETTLED,
                outcome=AuditOutcome.SUCCEEDED if applied else AuditOutcome.FAILED,
                parameters={
                    "intent_key": str(intent.intent_key),
                    "write": intent.action,
                    "target": intent.target,
                    "asked": intent.parameters,
                    "cloudflare_holds": words,
                },
                error="" if applied else f"Cloudflare holds {words}, not what was asked.",
            )
    return bool(changed)


def _claim_read(intent_id: int, now: datetime) -> WriteIntent | None:
    """The write, claimed for one read (its last_checked_at set), or None when settled or read just now."""
    claimed = (
        WriteIntent.objects.filter(pk=intent_id, outcome=WriteOutcome.UNKNOWN)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=now - SETTLE_GAP))
        .update(last_checked_at=now)
    )
    return WriteIntent.objects.select_related("account").get(pk=intent_id) if claimed else None


def settle_unknown_writes(now: datetime | None = None, limit: int = 50) -> int:
    """Reads about every write of unknown outcome not read within SETTLE_GAP (for a week); returns how many
    were settled."""
    now = now or timezone.now()
    due = (
        WriteIntent.objects.filter(outcome=WriteOutcome.UNKNOWN, requested_at__gte=now - SETTLE_GIVE_UP)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=now - SETTLE_GAP))
        .order_by("requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(settle_write(intent_id, now) for intent_id in list(due))
