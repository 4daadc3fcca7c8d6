"""Who may see and do what, per Cloudflare account.

A person sees only the accounts granted to them through `AccountAccess`; superusers see every account,
as admins.
Anyone else asking for an account gets 404, so the portal does not reveal which accounts exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.http import Http404, HttpRequest

from billing.models import AccessGeneration, Account, AccountAccess, Role


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a page that needs a signed-in person (every page but the public ones: Django's
    LoginRequiredMiddleware), for the type checker: `request.user` is a User. Django builds HttpRequests."""

    user: User


# Anyone asking: a signed-in person, or nobody on a public page.
Person = User | AnonymousUser


class _Role(TypedDict):
    user_role: str | None


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # An account as `accounts_for` gives it: with the asking person's role on it.
    AccountWithRole = WithAnnotations[Account, _Role]

# Higher ranks include every lower one: a manager can do what a viewer can, an admin what a manager can.
RANK: dict[str, int] = {Role.VIEWER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


def rank(role: str | None) -> int:
    return RANK.get(role, 0) if role else 0


def accounts_for(user: Person) -> QuerySet[AccountWithRole]:
    """Active accounts the person may see, each annotated with `user_role` (their role on it)."""
    accounts = Account.objects.filter(is_active=True)
    if not user.is_authenticated:
        return cast("QuerySet[AccountWithRole]", accounts.none())  # empty: no row lacks the role
    if user.is_superuser:
        return accounts.annotate(user_role=_literal(Role.ADMIN))
    role = AccountAccess.objects.filter(user=user, account=OuterRef("pk")).values("role")[:1]
    return accounts.filter(grants__user=user).annotate(user_role=Subquery(role))


def _literal(value: str) -> Value:
    return Value(str(value), output_field=CharField())


def get_account_for(user: Person, cloudflare_id: str, need: str = Role.VIEWER) -> AccountWithRole:
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


def can_administer(account: Account) -> bool:
    """Whether the person is an admin of the account (the account came from `accounts_for`)."""
    return rank(getattr(account, "user_role", None)) >= rank(Role.ADMIN)


def is_admin_anywhere(user: Person) -> bool:
    """Admins of at least one account (and superusers) may read the audit log of their accounts."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or AccountAccess.objects.filter(user=user, role=Role.ADMIN).exists()


def audit_accounts_for(user: User) -> QuerySet[Account]:
    """Accounts whose audit entries the person may read: those they administer (every one for superusers)."""
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(grants__user=user, grants__role=Role.ADMIN)


def administered_accounts(user: Person) -> QuerySet[Account]:
    """Active accounts whose people the person manages (invite, change roles, remove): those they are an
    admin of, every one for superusers."""
    accounts = Account.objects.filter(is_active=True)
    if not user.is_authenticated:
        return accounts.none()
    if user.is_superuser:
        return accounts
    return accounts.filter(grants__user=user, grants__role=Role.ADMIN)


# Where a signed-in session keeps the access generation it was signed in at.
SESSION_GENERATION_KEY = "access_generation"


def access_generation(user: User) -> int:
    """The person's current access generation: raised each time someone removes some of their access."""
    value = AccessGeneration.objects.filter(user=user).values_list("value", flat=True).first()
    return value or 0


def still_has_access(user: User, generation: int) -> bool:
    """Whether a session (or an API token) issued to `user` at `generation` may still be used: the person is
    active and nobody has removed any of their access since. What they may see is then `accounts_for`."""
    return user.is_active and generation == access_generation(user)


def sudo_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view whose POSTs need the password and a current code again within a short window (sudo
    mode, enforced by portal/sudo.py's middleware): what a stolen session must not be able to do."""
    view.sudo_required = True  # type: ignore[attr-defined]
    return view
