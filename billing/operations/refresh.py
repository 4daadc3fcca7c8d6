""" "Refresh now": a full sync of one account, audited."""

from billing import audit, pipeline
from billing.cloudflare import CloudflareError
from billing.models import Account, AuditAction, AuditOutcome
from billing.operations.errors import OperationError, describe_error


def refresh_account(account: Account, actor, *, ip_address: str | None = None) -> None:
    """Sync one account now ("Refresh now"); raises OperationError when a part of the sync failed."""
    try:
        pipeline.sync_account(account, raise_on_error=True)
    except (CloudflareError, pipeline.SyncFailed) as exc:
        message = describe_error(exc) if isinstance(exc, CloudflareError) else str(exc)
        audit.record(
            actor=actor,
            account=account,
            action=AuditAction.ACCOUNT_REFRESH,
            outcome=AuditOutcome.FAILED,
            error=message,
            ip_address=ip_address,
        )
        raise OperationError(message) from exc
    audit.record(
        actor=actor,
        account=account,
        action=AuditAction.ACCOUNT_REFRESH,
        outcome=AuditOutcome.SUCCEEDED,
        ip_address=ip_address,
    )
