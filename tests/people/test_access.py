"""Roles in the portal: the people page (roles, last sign-in, two-factor), giving and changing a role,
removing access (the person's old sessions are signed out at once), every change audited, and who may do
each thing."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import AccountAccess, AuditAction, AuditEntry, Authenticator, Role
from billing.permissions import access_generation, still_has_access
from tests.support.people_fixtures import confirmed_again, login


def _role(client, person, account, role):
    confirmed_again(client)  # a sudo action: the password and a code were just given again
    return client.post(
        reverse("person_role", args=[person.pk]), {"account": account.cloudflare_id, "role": role}
    )


def _remove(client, person, account):
    confirmed_again(client)
    return client.post(reverse("person_remove", args=[person.pk]), {"account": account.cloudflare_id})


def test_the_people_page_shows_roles_last_sign_in_and_two_factor(
    client, account, admin_user, viewer, manager, outsider
):
    Authenticator.new_for(manager, confirmed=True)
    login(Client(), viewer)  # sets vera's last sign-in
    login(client, admin_user)

    page = client.get(reverse("people")).content.decode()

    rows = {name: page.split(name, 1)[1].split("</tr>", 1)[0] for name in ("vera-viewer", "max-manager")}
    assert "Acme Prod: viewer" in rows["vera-viewer"]
    assert (
        timezone.localtime(viewer.__class__.objects.get(pk=viewer.pk).last_login).strftime("%Y-%m-%d %H:%M")
        in rows["vera-viewer"]
    )
    assert '<span class="badge neutral">off</span>' in rows["vera-viewer"]
    assert "Acme Prod: billing manager" in rows["max-manager"]
    assert '<span class="badge good">on</span>' in rows["max-manager"]
    assert "olga-outsider" not in page  # not on an account ada administers


def test_a_superuser_sees_everyone_and_manages_every_account(client, superuser, outsider, other_account):
    login(client, superuser)
    assert "olga-outsider" in client.get(reverse("people")).content.decode()
    _role(client, outsider, other_account, Role.ADMIN)
    assert AccountAccess.objects.get(user=outsider).role == Role.ADMIN


def test_an_admin_changes_a_role_and_it_is_audited(client, account, admin_user, viewer):
    login(client, admin_user)
    response = _role(client, viewer, account, Role.MANAGER)

    assert response.status_code == 302
    assert AccountAccess.objects.get(user=viewer).role == Role.MANAGER
    entry = AuditEntry.objects.get(action=AuditAction.PERSON_ROLE_SET)
    assert (entry.actor_name, entry.account, entry.parameters["before"], entry.parameters["after"]) == (
        "ada-admin",
        account,
        "viewer",
        "manager",
    )
    assert entry.parameters["person"] == "vera-viewer"


def test_an_admin_gives_a_role_on_another_of_their_accounts(
    client, account, other_account, admin_user, viewer
):
    AccountAccess.objects.create(user=admin_user, account=other_account, role=Role.ADMIN)
    login(client, admin_user)
    assert (
        "Give access to another account" in client.get(reverse("person", args=[viewer.pk])).content.decode()
    )

    _role(client, viewer, other_account, Role.VIEWER)

    assert AccountAccess.objects.get(user=viewer, account=other_account).role == Role.VIEWER
    entry = AuditEntry.objects.get(action=AuditAction.PERSON_ROLE_SET)
    assert (entry.parameters["before"], entry.parameters["after"]) == (None, "viewer")


def test_a_removed_persons_old_session_is_signed_out_at_once(client, account, admin_user, viewer):
    theirs = login(Client(), viewer)
    account_page = reverse("account", args=[account.cloudflare_id])
    assert theirs.get(account_page).status_code == 200
    login(client, admin_user)

    response = _remove(client, viewer, account)

    assert response.status_code == 302 and response["Location"] == reverse("people")
    signed_out = theirs.get(account_page)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in theirs.session
    assert not AccountAccess.objects.filter(user=viewer).exists()
    entry = AuditEntry.objects.get(action=AuditAction.PERSON_ACCESS_REMOVED)
    assert (entry.actor_name, entry.parameters["before"], entry.parameters["after"]) == (
        "ada-admin",
        "viewer",
        None,
    )
    # Signing in again works, and shows nothing of the account.
    again = login(Client(), viewer)
    assert again.get(account_page).status_code == 404


def test_removal_ends_a_token_issued_before_it(account, admin_user, viewer):
    from billing.people import access

    issued_at = access_generation(viewer)
    assert still_has_access(viewer, issued_at)
    access.remove_access(admin_user, viewer, account)
    assert not still_has_access(viewer, issued_at)
    assert still_has_access(viewer, access_generation(viewer))


def test_a_role_change_keeps_the_session(client, account, admin_user, viewer):
    theirs = login(Client(), viewer)
    login(client, admin_user)
    _role(client, viewer, account, Role.MANAGER)
    assert theirs.get(reverse("topup_new", args=[account.cloudflare_id])).status_code == 200


def test_an_admin_cannot_change_or_remove_their_own_access(client, account, admin_user):
    login(client, admin_user)
    changed = _role(client, admin_user, account, Role.VIEWER)
    removed = _remove(client, admin_user, account)

    assert changed.status_code == removed.status_code == 302
    assert "ask another admin" in client.get(changed["Location"]).content.decode()
    assert AccountAccess.objects.get(user=admin_user).role == Role.ADMIN
    assert not AuditEntry.objects.filter(action__startswith="person.").exists()


def test_an_admin_cannot_touch_another_accounts_people(client, other_account, admin_user, outsider, viewer):
    login(client, admin_user)
    assert client.get(reverse("person", args=[outsider.pk])).status_code == 404
    assert _role(client, outsider, other_account, Role.VIEWER).status_code == 404
    assert _remove(client, outsider, other_account).status_code == 404
    refused = _role(client, viewer, other_account, Role.ADMIN)
    assert "accounts you administer" in client.get(refused["Location"]).content.decode()
    assert not AccountAccess.objects.filter(user=viewer, account=other_account).exists()


@pytest.mark.parametrize("who", ["viewer", "manager"])
def test_viewers_and_managers_cannot_manage_people(client, request, account, who, admin_user):
    person = request.getfixturevalue(who)
    login(client, person)
    assert client.get(reverse("people")).status_code == 404
    assert client.get(reverse("person", args=[admin_user.pk])).status_code == 404
    assert _role(client, admin_user, account, Role.VIEWER).status_code == 404
    assert _remove(client, admin_user, account).status_code == 404
    assert AccountAccess.objects.get(user=admin_user).role == Role.ADMIN
    assert "People</a>" not in client.get(reverse("overview")).content.decode()


def test_bad_input_gives_a_message_not_an_error(client, account, admin_user, viewer):
    login(client, admin_user)
    confirmed_again(client)
    response = client.post(
        reverse("person_role", args=[viewer.pk]), {"account": account.cloudflare_id}, follow=True
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert client.get(reverse("person_role", args=[viewer.pk])).status_code == 405
    assert AccountAccess.objects.get(user=viewer).role == Role.VIEWER


def test_changing_a_role_asks_for_the_password_and_a_code_again(client, account, admin_user, viewer):
    login(client, admin_user)
    response = client.post(
        reverse("person_role", args=[viewer.pk]), {"account": account.cloudflare_id, "role": Role.ADMIN}
    )
    assert response.status_code == 302 and reverse("sudo") in response["Location"]
    assert AccountAccess.objects.get(user=viewer).role == Role.VIEWER
    removed = client.post(reverse("person_remove", args=[viewer.pk]), {"account": account.cloudflare_id})
    assert reverse("sudo") in removed["Location"] and AccountAccess.objects.filter(user=viewer).exists()
