"""Who may see and do what, per Cloudflare account.

A person sees only the accounts granted to them through `AccountAccess`; superusers see every account,
as admins.
Anyone else asking for an account gets 404, so the portal does not reveal which accounts exist.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.http import Http404

from billing.models import Account, AccountAccess, Role

# Higher ranks include every lower one: a manager can do what a viewer can, an admin what a manager can.
RANK = {Role.VIEWER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


def rank(role: str | None) -> int:
    return RANK.get(role, 0) if role else 0


def accounts_for(user) -> QuerySet[Account]:
    """Active accounts the person may see, each annotated with `user_role` (their role on it)."""
    accounts = Account.objects.filter(is_active=True)
    if not user.is_authenticated:
        return accounts.none()
    if user.is_superuser:
        return accounts.annotate(user_role=_literal(Role.ADMIN))
    role = AccountAccess.objects.filter(user=user, account=OuterRef("pk")).values("role")[:1]
    return accounts.filter(grants__user=user).annotate(user_role=Subquery(role))


def _literal(value: str) -> Value:
    return Value(str(value), output_field=CharField())


def get_account_for(user, cloudflare_id: str, need: str = Role.VIEWER) -> Account:
    """The account with `user_role` set; raises Http404 without access, PermissionDenied below `need`."""
    account = accounts_for(user).filter(cloudflare_id=cloudflare_id).first()
    if account is None:
        raise Http404("No such account.")
    if rank(account.user_role) < rank(need):
        raise PermissionDenied(f"This needs the {Role(need).label.lower()} role on {account.name}.")
    return account


def can_manage(account: Account) -> bool:
    """Whether the person may start money-moving actions (the account came from `accounts_for`)."""
    return rank(getattr(account, "user_role", None)) >= rank(Role.MANAGER)


def is_admin_anywhere(user) -> bool:
    """Admins of at least one account (and superusers) may read the audit log of their accounts."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or AccountAccess.objects.filter(user=user, role=Role.ADMIN).exists()


def audit_accounts_for(user) -> QuerySet[Account]:
    """Accounts whose audit entries the person may read: those they administer (every one for superusers)."""
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(grants__user=user, grants__role=Role.ADMIN)
