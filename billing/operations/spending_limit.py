"""The account-level spending limit: set and remove."""

from django.utils import timezone

from billing import audit
from billing.models import Account, AuditAction, SpendingLimit
from billing.money import cents_to_dollars
from billing.operations.changes import refresh_figures, run_change


def set_spending_limit(
    account: Account,
    actor: audit.Actor,
    *,
    amount_cents: int,
    duration: str,
    strategy: str,
    ip_address: str | None = None,
) -> SpendingLimit:
    """Set the account's spending limit; raises OperationError when Cloudflare refuses."""
    run_change(
        account,
        actor,
        AuditAction.SPENDING_LIMIT_SET,
        {"amount_cents": amount_cents, "duration": duration, "strategy": strategy},
        lambda client: client.spending_limit.create(
            account_id=account.cloudflare_id, amount=amount_cents, duration=duration, strategy=strategy
        ),
        ip_address,
    )
    limit, _ = SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": True,
            "amount": cents_to_dollars(amount_cents),
            "duration": duration,
            "strategy": strategy,
            "synced_at": timezone.now(),
        },
    )
    refresh_figures(account)
    return limit


def remove_spending_limit(
    account: Account, actor: audit.Actor, *, ip_address: str | None = None
) -> SpendingLimit:
    """Remove the spending limit; raises OperationError when Cloudflare refuses."""
    run_change(
        account,
        actor,
        AuditAction.SPENDING_LIMIT_DELETE,
        {},
        lambda client: client.spending_limit.delete(account_id=account.cloudflare_id),
        ip_address,
    )
    limit, _ = SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": False,
            "amount": None,
            "duration": "",
            "strategy": "",
            "synced_at": timezone.now(),
        },
    )
    refresh_figures(account)
    return limit
