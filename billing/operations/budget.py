"""An account's monthly budget: the portal's own (Cloudflare has none), so no API call, but audited like every
limit-changing action."""

from decimal import Decimal

from billing import audit
from billing.models import Account, AuditAction, AuditOutcome
from billing.money import cents_to_dollars


def set_monthly_budget(
    account: Account, actor, amount_cents: int | None, ip_address: str | None = None
) -> None:
    """Sets the budget (integer cents), or removes it (None); records before and after in the audit log."""
    before: Decimal | None = account.monthly_budget
    after = None if amount_cents is None else cents_to_dollars(amount_cents)
    account.monthly_budget = after
    account.save(update_fields=["monthly_budget"])
    audit.record(
        actor=actor,
        account=account,
        action=AuditAction.BUDGET_SET,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={
            "budget_before": None if before is None else f"{before:.2f}",
            "budget_after": None if after is None else f"{after:.2f}",
        },
        ip_address=ip_address,
    )
