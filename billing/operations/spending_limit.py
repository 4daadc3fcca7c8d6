"""The account-level spending limit: set and remove, once per intent."""

import uuid

from django.utils import timezone

from billing import audit
from billing.models import Account, AuditAction, AuditEntry, SpendingLimit, WriteOutcome
from billing.money import cents_to_dollars
from billing.operations.changes import WriteResult, refresh_figures, run_change

# Cloudflare (SDK 5.9.0 on spending_limit.create): "Deprecated: spending limits can no longer be created,
# enabled, or modified and this endpoint always responds 403." Removing one still works through the API.
DASHBOARD_ONLY_ACTIONS = (AuditAction.SPENDING_LIMIT_SET,)


def spending_limit_refusal(account: Account) -> AuditEntry | None:
    """Cloudflare's latest refusal to set this account's spending limit, unless one succeeded since."""
    return AuditEntry.objects.standing_refusal(account, DASHBOARD_ONLY_ACTIONS)


def set_spending_limit(
    account: Account,
    actor: audit.Actor,
    *,
    amount_cents: int,
    duration: str,
    strategy: str,
    intent_key: uuid.UUID | None = None,
    ip_address: str | None = None,
) -> WriteResult:
    """Set the account's spending limit once per `intent_key`;
    raises OperationError when Cloudflare refuses.
    The stored limit changes only when Cloudflare said it took it."""
    result = run_change(
        account,
        actor,
        AuditAction.SPENDING_LIMIT_SET,
        {"amount_cents": amount_cents, "duration": duration, "strategy": strategy},
        lambda client: client.spending_limit.create(
            account_id=account.cloudflare_id, amount=amount_cents, duration=duration, strategy=strategy
        ),
        ip_address,
        intent_key or uuid.uuid4(),
    )
    if result.created and result.outcome == WriteOutcome.SUCCEEDED:
        _store(account, True, cents_to_dollars(amount_cents), duration, strategy)
    return result


def remove_spending_limit(
    account: Account,
    actor: audit.Actor,
    *,
    intent_key: uuid.UUID | None = None,
    ip_address: str | None = None,
) -> WriteResult:
    """Remove the spending limit once per `intent_key`;
    raises OperationError when Cloudflare refuses."""
    result = run_change(
        account,
        actor,
        AuditAction.SPENDING_LIMIT_DELETE,
        {},
        lambda client: client.spending_limit.delete(account_id=account.cloudflare_id),
        ip_address,
        intent_key or uuid.uuid4(),
    )
    if result.created and result.outcome == WriteOutcome.SUCCEEDED:
        _store(account, False, None, "", "")
    return result


def _store(account: Account, enabled: bool, amount: object, duration: str, strategy: str) -> None:
    SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": enabled,
            "amount": amount,
            "duration": duration,
            "strategy": strategy,
            "synced_at": timezone.now(),
        },
    )
    refresh_figures(account)
