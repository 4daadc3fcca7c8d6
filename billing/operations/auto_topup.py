"""Auto top-up: turn it on (or change it) and off, once per intent."""

import uuid

from django.utils import timezone

from billing import audit
from billing.models import Account, AuditAction, AuditEntry, AutoTopUpConfig, WriteOutcome
from billing.money import cents_to_dollars
from billing.operations.changes import WriteResult, run_change

# Cloudflare (SDK 5.9.0 on config.create and config.delete): "Dashboard sessions only: API token, OAuth, and
# service credentials are rejected with 403." The page still offers them, as the billing API's operations.
DASHBOARD_ONLY_ACTIONS = (AuditAction.AUTO_TOPUP_SET, AuditAction.AUTO_TOPUP_DELETE)


def auto_topup_refusal(account: Account) -> AuditEntry | None:
    """Cloudflare's latest refusal of an auto top-up change on this account, unless one succeeded since."""
    return AuditEntry.objects.standing_refusal(account, DASHBOARD_ONLY_ACTIONS)


def set_auto_topup(
    account: Account,
    actor: audit.Actor,
    *,
    amount_cents: int,
    threshold_cents: int,
    intent_key: uuid.UUID | None = None,
    ip_address: str | None = None,
) -> WriteResult:
    """Turn on (or change) auto top-up once per `intent_key`;
    raises OperationError when Cloudflare refuses.
    The stored config changes only when Cloudflare said it took it."""
    result = run_change(
        account,
        actor,
        AuditAction.AUTO_TOPUP_SET,
        {"amount_cents": amount_cents, "threshold_cents": threshold_cents},
        lambda client: client.topup.config.create(
            account_id=account.cloudflare_id, amount=amount_cents, threshold=threshold_cents
        ),
        ip_address,
        intent_key or uuid.uuid4(),
    )
    if result.created and result.outcome == WriteOutcome.SUCCEEDED:
        _store(account, cents_to_dollars(amount_cents), cents_to_dollars(threshold_cents))
    return result


def remove_auto_topup(
    account: Account,
    actor: audit.Actor,
    *,
    intent_key: uuid.UUID | None = None,
    ip_address: str | None = None,
) -> WriteResult:
    """Turn auto top-up off once per `intent_key`;
    raises OperationError when Cloudflare refuses."""
    result = run_change(
        account,
        actor,
        AuditAction.AUTO_TOPUP_DELETE,
        {},
        lambda client: client.topup.config.delete(account_id=account.cloudflare_id),
        ip_address,
        intent_key or uuid.uuid4(),
    )
    if result.created and result.outcome == WriteOutcome.SUCCEEDED:
        _store(account, None, None)
    return result


def _store(account: Account, amount: object, threshold: object) -> None:
    AutoTopUpConfig.objects.update_or_create(
        account=account,
        defaults={
            "amount": amount,
            "threshold": threshold,
            "error": "",
            "disabled_reason": "",
            "last_failed_at": None,
            "synced_at": timezone.now(),
        },
    )
