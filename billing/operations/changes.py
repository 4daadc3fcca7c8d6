"""Config-changing calls to Cloudflare: one call, its audit entry, and the stored figures refreshed after."""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from billing import audit, figures
from billing.clients import client_for
from billing.cloudflare import BillingClient, CloudflareError, OutcomeUnknownError
from billing.models import Account, AuditOutcome
from billing.operations.errors import operation_error

logger = logging.getLogger("billing.operations")

T = TypeVar("T")


def run_change(
    account: Account,
    actor: audit.Actor,
    action: str,
    parameters: dict[str, Any],
    call: Callable[[BillingClient], T],
    ip_address: str | None,
) -> T:
    """Calls Cloudflare once (`call(client)`), audits the outcome, and returns the call's result; raises
    OperationError when it failed (outcome "unknown" in the audit when the answer was lost)."""
    try:
        result = call(client_for(account))
    except CloudflareError as exc:
        audit.record(
            actor=actor,
            account=account,
            action=action,
            outcome=AuditOutcome.UNKNOWN if isinstance(exc, OutcomeUnknownError) else AuditOutcome.FAILED,
            parameters=parameters,
            error=exc.message,
            ip_address=ip_address,
        )
        raise operation_error(exc) from exc
    audit.record(
        actor=actor,
        account=account,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        parameters=parameters,
        ip_address=ip_address,
    )
    return result


def refresh_figures(account: Account) -> None:
    """Stores the account's figures again after a change; the change itself has succeeded either way."""
    try:
        figures.refresh_summary(account)
    except Exception:
        logger.exception("could not store the figures of account %s after a change", account)
