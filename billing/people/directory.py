"""What the people pages read: everyone with a role on an account the admin manages (every person for
superusers), with their roles there, last sign-in and two-factor status, in a fixed number of queries.

The people page is the one page of this family whose size grows with the number of people, so its rows are
plain values (`people_rows`) rendered by Jinja2 (`templates/jinja2/billing/people_rows.html`), as the
overview's are: Django's engine took most of a 500-row page."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from billing.models import Account, AccountAccess, Authenticator, Invitation, Role
from billing.permissions import administered_accounts


def _people(admin: User) -> QuerySet[User]:
    """Everyone for a superuser, else the people with a role on an account the admin administers; by
    username, each with `two_factor` (a confirmed authenticator)."""
    people = get_user_model().objects.annotate(
        two_factor=Exists(Authenticator.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    if not admin.is_superuser:
        grants = AccountAccess.objects.filter(account__in=administered_accounts(admin))
        people = people.filter(Exists(grants.filter(user=OuterRef("pk"))))
    return people.order_by("username")


def people_for(admin: User) -> QuerySet[User]:
    """The people the admin manages (`_people`), each with `shown_grants`: their roles on the admin's
    accounts, by account name."""
    grants = AccountAccess.objects.filter(account__in=administered_accounts(admin)).select_related("account")
    return _people(admin).prefetch_related(
        Prefetch("account_grants", queryset=grants.order_by("account__name"), to_attr="shown_grants")
    )


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


def people_rows(admin: User) -> list[dict]:
    """The people page's rows as plain values (one per person of `people_for`, by username): `url`,
    `username`, `email`, `superuser`, `active`, `roles` ("Acme Prod: viewer", by account name),
    `last_login` (None: never) and `two_factor`. Two queries, whatever the number of people."""
    grants = AccountAccess.objects.filter(account__in=administered_accounts(admin))
    roles: dict[int, list[str]] = {}
    labels = {value: label.lower() for value, label in Role.choices}
    for user_id, account_name, role in grants.order_by("account__name").values_list(
        "user_id", "account__name", "role"
    ):
        roles.setdefault(user_id, []).append(f"{account_name}: {labels.get(role, role)}")
    prefix, _, suffix = reverse("person", args=[0]).rpartition("0")
    columns = ("pk", "username", "email", "is_superuser", "is_active", "last_login", "two_factor")
    return [
        {
            "url": f"{prefix}{person['pk']}{suffix}",
            "username": person["username"],
            "email": person["email"],
            "superuser": person["is_superuser"],
            "active": person["is_active"],
            "roles": roles.get(person["pk"], []),
            "last_login": person["last_login"],
            "two_factor": person["two_factor"],
        }
        for person in _people(admin).values(*columns)
    ]
