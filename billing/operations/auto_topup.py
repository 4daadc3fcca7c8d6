"""Auto top-up: turn it on (or change it) and off."""

from django.utils import timezone

from billing import audit
from billing.models import Account, AuditAction, AutoTopUpConfig
from billing.money import cents_to_dollars
from billing.operations.changes import run_change


def set_auto_topup(
    account: Account,
    actor: audit.Actor,
    *,
    amount_cents: int,
    threshold_cents: int,
    ip_address: str | None = None,
) -> AutoTopUpConfig:
    """Turn on (or change) auto top-up; raises OperationError when Cloudflare refuses."""
    run_change(
        account,
        actor,
        AuditAction.AUTO_TOPUP_SET,
        {"amount_cents": amount_cents, "threshold_cents": threshold_cents},
        lambda client: client.topup.config.create(
            account_id=account.cloudflare_id, amount=amount_cents, threshold=threshold_cents
        ),
        ip_address,
    )
    config, _ = AutoTopUpConfig.objects.update_or_create(
        account=account,
        defaults={
            "amount": cents_to_dollars(amount_cents),
            "threshold": cents_to_dollars(threshold_cents),
            "error": "",
            "disabled_reason": "",
            "last_failed_at": None,
            "synced_at": timezone.now(),
        },
    )
    return config


def remove_auto_topup(
    account: Account, actor: audit.Actor, *, ip_address: str | None = None
) -> AutoTopUpConfig:
    """Turn auto top-up off; raises OperationError when Cloudflare refuses."""
    run_change(
        account,
        actor,
        AuditAction.AUTO_TOPUP_DELETE,
        {},
        lambda client: client.topup.config.delete(account_id=account.cloudflare_id),
        ip_address,
    )
    config, _ = AutoTopUpConfig.objects.update_or_create(
        account=account,
        defaults={
            "amount": None,
            "threshold": None,
            "error": "",
            "disabled_reason": "",
            "last_failed_at": None,
            "synced_at": timezone.now(),
        },
    )
    return config
