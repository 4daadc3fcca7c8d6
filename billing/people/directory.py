"""What the people pages read: everyone with a role on an account the admin manages (every person for
superusers), with their roles there, last sign-in and two-factor status, in a fixed number of queries."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import Account, AccountAccess, Invitation
from billing.permissions import administered_accounts


def people_for(admin: User) -> QuerySet[User]:
    """The people the admin manages, by username, each with `shown_grants` (their roles on the admin's
    accounts, by account name) and `two_factor` (a confirmed authenticator)."""
    accounts = administered_accounts(admin)
    grants = AccountAccess.objects.filter(account__in=accounts).select_related("account")
    people = get_user_model().objects.annotate(
        two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    if not admin.is_superuser:
        people = people.filter(Exists(grants.filter(user=OuterRef("pk"))))
    return people.prefetch_related(
        Prefetch("account_grants", queryset=grants.order_by("account__name"), to_attr="shown_grants")
    ).order_by("username")


def person_for(admin: User, pk: int) -> User:
    """One person of `people_for`; raises Http404 for anyone else."""
    person = people_for(admin).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person.")
    return person


def accounts_without(admin: User, person: User) -> QuerySet[Account]:
    """The admin's accounts on which the person has no role yet (where the admin may give one)."""
    return administered_accounts(admin).exclude(grants__user=person)


def pending_invitations(admin: User) -> QuerySet[Invitation]:
    """Invitations to the admin's accounts that can still be accepted, newest first."""
    return (
        Invitation.objects.pending(timezone.now())
        .filter(account__in=administered_accounts(admin))
        .select_related("account", "invited_by")
    )
