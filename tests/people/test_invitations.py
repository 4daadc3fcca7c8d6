"""Invitations end to end: sent by an admin through the people page to a real SMTP server on loopback, the
emailed link accepted once (a new person's log-in, or an existing person signed in), refused when used
again, replaced or expired, and every step audited."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import AccountAccess, AuditAction, AuditEntry, Invitation, Role
from tests.support.people_fixtures import login

BASE = "http://portal.example.test"
NEW_PASSWORD = "plum-orchard-lantern-42"


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.INVITATION_VALID_HOURS = 72


def _invite(client, account, email="nina@example.com", role=Role.MANAGER):
    return client.post(reverse("people"), {"email": email, "account": account.cloudflare_id, "role": role})


def _link_path(smtp_server, index: int = -1) -> str:
    """The path of the invitation link in the `index`th email (text and HTML carry the same link)."""
    message = smtp_server.messages[index]
    text, html = smtp_server.text_of(message), smtp_server.html_of(message)
    link = re.search(rf"{re.escape(BASE)}(/invitations/[\w-]+/)", text)
    assert link is not None, text
    assert f'href="{BASE}{link.group(1)}"' in html
    return link.group(1)


def _accept_as_new(path: str, username: str = "nina"):
    data = {"username": username, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return Client().post(path, data)


def test_an_invitation_reaches_smtp_and_its_link_makes_a_person_with_the_role(
    client, account, admin_user, smtp_server, django_user_model
):
    login(client, admin_user)
    assert _invite(client, account).status_code == 302

    assert smtp_server.subjects() == ["You are invited to Acme Prod on AI Gateway billing"]
    assert smtp_server.recipients() == [["nina@example.com"]]
    path = _link_path(smtp_server)
    form = Client().get(path)
    assert form.status_code == 200 and "as billing manager of Acme Prod" in form.content.decode()

    response = _accept_as_new(path)

    assert response.status_code == 302 and response["Location"] == reverse("login")
    nina = django_user_model.objects.get(username="nina")
    assert nina.email == "nina@example.com" and nina.check_password(NEW_PASSWORD)
    assert AccountAccess.objects.get(user=nina).role == Role.MANAGER
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert not Invitation.objects.filter(token_hash=token).exists()  # only its hash is kept
    invited = AuditEntry.objects.get(action=AuditAction.PERSON_INVITED)
    assert (invited.actor_name, invited.parameters["email"], invited.parameters["role"]) == (
        "ada-admin",
        "nina@example.com",
        "manager",
    )
    accepted = AuditEntry.objects.get(action=AuditAction.INVITATION_ACCEPTED)
    assert (accepted.actor_name, accepted.parameters["before"], accepted.parameters["after"]) == (
        "nina",
        None,
        "manager",
    )
    signed_in = Client()
    assert signed_in.login(request=HttpRequest(), username="nina", password=NEW_PASSWORD)
    assert signed_in.get(reverse("account", args=[account.cloudflare_id])).status_code == 200


def test_a_link_used_twice_is_refused(client, account, admin_user, smtp_server, django_user_model):
    login(client, admin_user)
    _invite(client, account)
    path = _link_path(smtp_server)
    _accept_as_new(path)

    again = Client().get(path)
    second = _accept_as_new(path, username="nina-again")

    assert again.status_code == 410 and "already used" in again.content.decode()
    assert second.status_code == 410
    assert not django_user_model.objects.filter(username="nina-again").exists()
    assert AuditEntry.objects.filter(action=AuditAction.INVITATION_ACCEPTED).count() == 1


def test_an_expired_link_is_refused(client, account, admin_user, smtp_server, django_user_model):
    login(client, admin_user)
    _invite(client, account)
    path = _link_path(smtp_server)

    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1), tick=False):
        page = Client().get(path)
        accepted = _accept_as_new(path)

    assert page.status_code == 410 and "expired" in page.content.decode()
    assert accepted.status_code == 410
    assert not django_user_model.objects.filter(username="nina").exists()


def test_a_newer_invitation_replaces_the_pending_one(client, account, admin_user, smtp_server):
    login(client, admin_user)
    _invite(client, account, role=Role.VIEWER)
    _invite(client, account, role=Role.ADMIN)
    first, second = _link_path(smtp_server, 0), _link_path(smtp_server, 1)

    refused = Client().get(first)
    assert refused.status_code == 410 and "newer invitation" in refused.content.decode()
    _accept_as_new(second)
    assert AccountAccess.objects.get(user__username="nina").role == Role.ADMIN


def test_someone_with_a_log_in_accepts_signed_in_as_themselves(
    client, account, admin_user, outsider, viewer, smtp_server
):
    login(client, admin_user)
    _invite(client, account, email=outsider.email.upper(), role=Role.VIEWER)
    path = _link_path(smtp_server)

    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    someone_else = login(Client(), viewer).post(path)
    assert someone_else.status_code == 403 and "sign in as that person" in someone_else.content.decode()
    themselves = login(Client(), outsider)
    assert "Accept the invitation" in themselves.get(path).content.decode()
    response = themselves.post(path)

    assert response.status_code == 302
    assert AccountAccess.objects.get(user=outsider, account=account).role == Role.VIEWER
    assert themselves.get(reverse("account", args=[account.cloudflare_id])).status_code == 200


def test_a_weak_password_or_a_taken_username_is_refused_with_a_reason(
    client, account, admin_user, viewer, smtp_server
):
    login(client, admin_user)
    _invite(client, account)
    path = _link_path(smtp_server)

    weak = Client().post(path, {"username": "nina", "password1": "123", "password2": "123"})
    taken = Client().post(
        path, {"username": viewer.username.upper(), "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert weak.status_code == 200 and "too short" in weak.content.decode()
    assert taken.status_code == 200 and "username is taken" in taken.content.decode()
    assert Invitation.objects.get().accepted_at is None


def test_the_invitation_form_refuses_bad_input_and_sends_nothing(
    client, account, other_account, admin_user, viewer, smtp_server
):
    login(client, admin_user)
    cases = [
        ({"email": "not-an-address", "account": account.cloudflare_id, "role": "viewer"}, "valid email"),
        ({"email": viewer.email, "account": account.cloudflare_id, "role": "viewer"}, "already has access"),
        (
            {"email": "x@example.com", "account": other_account.cloudflare_id, "role": "viewer"},
            "you administer",
        ),
        ({"email": "x@example.com", "account": account.cloudflare_id, "role": "owner"}, "Choose viewer"),
    ]
    for data, said in cases:
        response = client.post(reverse("people"), data)
        assert response.status_code == 200 and said in response.content.decode(), data
    assert smtp_server.messages == [] and not Invitation.objects.exists()


def test_an_unknown_link_says_so(db):
    response = Client().get(reverse("invitation_accept", args=["not-a-real-token"]))
    assert response.status_code == 410 and "not valid" in response.content.decode()


@pytest.mark.parametrize("who", ["viewer", "manager", "outsider"])
def test_only_admins_invite(client, request, account, who, smtp_server):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("people")).status_code == 404
    assert _invite(client, account).status_code == 404
    assert smtp_server.messages == []
