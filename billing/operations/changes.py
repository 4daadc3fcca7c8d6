"""Config-changing calls to Cloudflare: once per intent, one call, its audit entry, and the stored figures
refreshed after."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billing import audit, figures
from billing.clients import client_for
from billing.cloudflare import BillingClient, CloudflareError, OutcomeUnknownError
from billing.models import Account, AuditOutcome, WriteIntent, WriteOutcome
from billing.operations.errors import is_refusal, operation_error
from billing.operations.writes import claim_intent, finish_intent

logger = logging.getLogger("billing.operations")

UNKNOWN_MESSAGE = (
    "We don't know yet whether Cloudflare applied it: the request may have reached Cloudflare but its answer "
    "was lost. It was not sent again; this page will say what Cloudflare holds once a read settles it."
)


@dataclass(frozen=True)
class WriteResult:
    # False when this form had already been submitted (double click, re-post): nothing was sent again.
    created: bool
    outcome: str  # a WriteOutcome: succeeded, or unknown when the answer was lost


def _outcome_of(exc: CloudflareError) -> str:
    if isinstance(exc, OutcomeUnknownError):
        return AuditOutcome.UNKNOWN
    return AuditOutcome.REFUSED if is_refusal(exc) else AuditOutcome.FAILED


def run_change(
    account: Account,
    actor: audit.Actor,
    action: str,
    parameters: dict[str, Any],
    call: Callable[[BillingClient], object],
    ip_address: str | None,
    intent_key: uuid.UUID,
) -> WriteResult:
    """Calls Cloudflare once per `intent_key` (`call(client)`) and audits the outcome. Returns the result
    (outcome unknown when the answer was lost: never sent again, read about later); raises OperationError when
    Cloudflare refused or failed it (audited "refused" on a 403)."""
    intent = claim_intent(account, actor, action, intent_key, parameters)
    if intent is None:
        existing = WriteIntent.objects.get(intent_key=intent_key)
        return WriteResult(created=False, outcome=existing.outcome)
    audited = {**parameters, "intent_key": str(intent_key)}
    try:
        call(client_for(account))
    except CloudflareError as exc:
        outcome = _outcome_of(exc)
        audit.record(
            actor=actor,
            account=account,
            action=action,
            outcome=outcome,
            parameters=audited,
            error=exc.message,
            ip_address=ip_address,
        )
        if outcome == AuditOutcome.UNKNOWN:
            finish_intent(intent, WriteOutcome.UNKNOWN, exc.message)
            return WriteResult(created=True, outcome=WriteOutcome.UNKNOWN)
        finish_intent(intent, WriteOutcome.FAILED, exc.message)
        raise operation_error(exc) from exc
    audit.record(
        actor=actor,
        account=account,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        parameters=audited,
        ip_address=ip_address,
    )
    finish_intent(intent, WriteOutcome.SUCCEEDED)
    return WriteResult(created=True, outcome=WriteOutcome.SUCCEEDED)


def refresh_figures(account: Account) -> None:
    """Stores the account's figures again after a change; the change itself has succeeded either way."""
    try:
        figures.refresh_summary(account)
    except Exception:
        logger.exception("could not store the figures of account %s after a change", account)
