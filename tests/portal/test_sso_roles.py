"""The groups → roles mapping, without a provider: the superusers' page (a sudo action, audited), and how a
person's grants follow their groups (the highest role wins; unmapped accounts are left alone)."""

import pytest
from django.urls import reverse

from billing.models import AccountAccess, AuditAction, AuditEntry, Role, SsoRoleMapping
from portal import sso, sso_roles
from tests.support.people_fixtures import confirmed_again, login

pytestmark = pytest.mark.django_db


def test_superusers_edit_the_mapping_after_confirming_it_is_them(client, superuser, account):
    login(client, superuser)
    add = {"group": "billing-admins", "account": account.pk, "role": Role.ADMIN}
    assert client.post(reverse("sso_roles"), add)["Location"].startswith(reverse("sudo"))
    assert not SsoRoleMapping.objects.exists()

    confirmed_again(client)
    client.post(reverse("sso_roles"), add)
    mapping = SsoRoleMapping.objects.get()
    assert (mapping.group, mapping.account, mapping.role) == ("billing-admins", account, Role.ADMIN)
    page = client.get(reverse("sso_roles")).content.decode()
    assert "billing-admins" in page and "Single sign-on is not configured" in page
    client.post(reverse("sso_roles"), {"remove": str(mapping.pk)})
    assert not SsoRoleMapping.objects.exists()
    changes = AuditEntry.objects.filter(action=AuditAction.SSO_MAPPING_CHANGE).order_by("pk")
    assert [entry.parameters["change"] for entry in changes] == ["added", "removed"]


@pytest.mark.parametrize("person", ["viewer", "manager", "admin_user"])
def test_only_superusers_see_the_mapping(client, person, request):
    login(client, request.getfixturevalue(person))
    assert client.get(reverse("sso_roles")).status_code == 404


def test_bad_input_on_the_mapping_page_is_a_message_not_an_error(client, superuser, account):
    confirmed_again(login(client, superuser))
    assert client.post(reverse("sso_roles"), {"remove": "²"}).status_code == 404
    page = client.post(reverse("sso_roles"), {"group": "a\x00b", "account": account.pk, "role": Role.ADMIN})
    assert page.status_code == 200 and "Null characters are not allowed." in page.content.decode()


def test_the_highest_role_of_a_persons_groups_wins_and_unmapped_accounts_are_left_alone(
    make_user, account, other_account
):
    person = make_user("pia")
    AccountAccess.objects.create(user=person, account=other_account, role=Role.VIEWER)
    SsoRoleMapping.objects.create(group="finance", account=account, role=Role.VIEWER)
    SsoRoleMapping.objects.create(group="leads", account=account, role=Role.MANAGER)

    sso_roles.apply(person, ["finance", "leads"])
    assert AccountAccess.objects.get(user=person, account=account).role == Role.MANAGER
    sso_roles.apply(person, ["finance"])
    assert AccountAccess.objects.get(user=person, account=account).role == Role.VIEWER
    sso_roles.apply(person, [])
    assert not AccountAccess.objects.filter(user=person, account=account).exists()
    assert AccountAccess.objects.get(user=person, account=other_account).role == Role.VIEWER


def test_amr_and_groups_are_read_as_configured(settings):
    settings.SSO_MFA_AMR = ["mfa"]
    settings.SSO_ROLES_CLAIM = "roles"
    assert sso.mfa_from_provider({"amr": ["pwd", "mfa"]}) and sso.mfa_from_provider({"amr": "mfa"})
    assert not sso.mfa_from_provider({"amr": ["pwd", "otp"]}) and not sso.mfa_from_provider({})
    assert sso.groups_in({"roles": "leads", "groups": ["x"]}) == ["leads"] and sso.groups_in({}) == []
