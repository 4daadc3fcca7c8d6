"""Cost centers created, changed and removed by an account's admins, each change audited with what it was
before and after. No call to Cloudflare: cost centers are the portal's own."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from billing.audit import record
from billing.models import Account, AuditAction, AuditOutcome, CostCenter


def _described(center: CostCenter | None) -> dict[str, Any] | None:
    if center is None:
        return None
    return {
        "name": center.name,
        "gateways": list(center.gateways),
        "only_models": list(center.only_models),
        "only_providers": list(center.only_providers),
    }


def save_cost_center(
    account: Account, actor: User, values: dict[str, Any], center: CostCenter | None, ip_address: str | None
) -> CostCenter:
    """Creates a cost center (`center` None) or changes it to `values` (the form's cleaned data)."""
    with transaction.atomic():
        before = _described(center)
        center = center or CostCenter(account=account)
        for name in ("name", "gateways", "only_models", "only_providers"):
            setattr(center, name, values[name])
        center.save()
        _audit(account, actor, before, _described(center), ip_address)
    return center


def delete_cost_center(account: Account, actor: User, center: CostCenter, ip_address: str | None) -> None:
    with transaction.atomic():
        before = _described(center)
        center.delete()
        _audit(account, actor, before, None, ip_address)


def _audit(account: Account, actor: User, before: Any, after: Any, ip_address: str | None) -> None:
    record(
        actor=actor,
        account=account,
        action=AuditAction.COST_CENTER_CHANGE,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"before": before, "after": after},
        ip_address=ip_address,
    )
