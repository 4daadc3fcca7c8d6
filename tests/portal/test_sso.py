"""Single sign-on against a real OpenID provider on loopback (node's oidc-provider): just-in-time people,
groups → roles at every sign-in, the ID token's signature, expiry, state and nonce checked, `amr` and
two-factor, SSO-only with break-glass superusers, sign-out at the provider too. The portal is driven with
Django's test client, the provider's pages with requests (tests/browser/test_sso.py does it in Chromium)."""

import base64
import json
import re
from datetime import timedelta
from urllib.parse import urljoin

import jwt
import pytest
import requests
import time_machine
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from django.utils import timezone

from billing.models import AccountAccess, AuditAction, AuditEntry, Role, SsoIdentity, SsoRoleMapping
from portal import sudo
from portal.sso import ProviderBackend
from tests.support.oidc_fixtures import sign_in_at_provider, through_provider
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.process, pytest.mark.django_db]


@pytest.fixture
def mapped(sso, account, other_account):
    SsoRoleMapping.objects.create(group="billing-admins", account=account, role=Role.ADMIN)
    SsoRoleMapping.objects.create(group="finance", account=account, role=Role.VIEWER)
    SsoRoleMapping.objects.create(group="finance", account=other_account, role=Role.MANAGER)
    return sso


def signed_in(client, response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_first_sign_in_makes_the_person_with_the_roles_of_their_groups(
    client, mapped, account, other_account
):
    callback = client.get(sign_in_at_provider(client, mapped, "ben"))
    assert signed_in(client, callback) and callback["Location"] == reverse("overview")

    identity = SsoIdentity.objects.select_related("user").get(subject="ben")
    assert identity.user.username == "ben" and not identity.user.has_usable_password()
    assert identity.last_groups == ["finance"]
    roles = dict(AccountAccess.objects.filter(user=identity.user).values_list("account__name", "role"))
    assert roles == {account.name: Role.VIEWER, other_account.name: Role.MANAGER}
    assert client.get(reverse("overview")).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.SSO_SIGNIN, actor=identity.user).count() == 1


def test_a_provider_user_named_like_a_local_one_gets_a_name_of_its_own(client, mapped, make_user):
    local_ben = make_user("ben", is_superuser=True)
    client.get(sign_in_at_provider(client, mapped, "ben"))
    person = SsoIdentity.objects.get(subject="ben").user
    assert person.pk != local_ben.pk and person.username == "ben-2" and not person.is_superuser


def test_a_group_removed_between_two_sign_ins_loses_that_access(client, mapped, account, other_account):
    client.get(sign_in_at_provider(client, mapped, "ben"))
    person = SsoIdentity.objects.get(subject="ben").user
    assert client.get(reverse("account", args=[other_account.cloudflare_id])).status_code == 200
    client.post(reverse("logout"))

    mapped.set_user("ben", groups=[])
    client.get(sign_in_at_provider(client, mapped, "ben"))
    assert not AccountAccess.objects.filter(user=person).exists()
    assert client.get(reverse("account", args=[other_account.cloudflare_id])).status_code == 404
    change = AuditEntry.objects.filter(action=AuditAction.SSO_ROLES_CHANGED).latest("pk")
    assert {c["after"] for c in change.parameters["changes"]} == {None}


def test_accounts_no_mapping_names_keep_the_roles_given_in_the_portal(client, sso, account, other_account):
    SsoRoleMapping.objects.create(group="finance", account=account, role=Role.VIEWER)
    client.get(sign_in_at_provider(client, sso, "ana"))  # not in "finance"
    person = SsoIdentity.objects.get(subject="ana").user
    AccountAccess.objects.create(user=person, account=other_account, role=Role.VIEWER)
    client.post(reverse("logout"))
    client.get(sign_in_at_provider(client, sso, "ana"))
    assert list(AccountAccess.objects.filter(user=person).values_list("account", flat=True)) == [
        other_account.pk
    ]


def test_an_expired_id_token_is_refused(client, mapped):
    callback_url = sign_in_at_provider(client, mapped, "ben")
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        refused = client.get(callback_url, follow=True)
    assert "_auth_user_id" not in client.session
    assert "Single sign-on was refused: the ID token has expired" in refused.content.decode()


def _id_token_and_nonce(client, provider) -> tuple[str, str]:
    """A real ID token of the provider, and the nonce it was issued for."""
    callback_url = sign_in_at_provider(client, provider, "ana")
    state = callback_url.split("state=")[1].split("&")[0]
    nonce = client.session["oidc_states"][state]["nonce"]
    client.get(callback_url)
    return client.session["oidc_id_token"], nonce


def test_a_tampered_id_token_is_refused(client, mapped):
    token, nonce = _id_token_and_nonce(client, mapped)
    backend = ProviderBackend()
    assert backend.verify_token(token, nonce=nonce)["sub"] == "ana"

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "ben"}).encode()).rstrip(b"=").decode()
    unsigned = jwt.encode({**claims, "sub": "ben"}, key=None, algorithm="none")
    self_signed = jwt.encode(
        {**claims, "sub": "ben"}, "guessed-secret-of-32-bytes-at-least!", algorithm="HS256"
    )
    for bad in (f"{header}.{forged}.{signature}", unsigned, self_signed, token[:-4] + "AAAA", "not-a-token"):
        with pytest.raises(SuspiciousOperation):
            backend.verify_token(bad, nonce=nonce)


def test_the_state_is_checked(client, mapped):
    callback_url = sign_in_at_provider(client, mapped, "ben")
    forged = client.get(callback_url.replace("state=", "state=x"), follow=True)
    assert "_auth_user_id" not in client.session
    assert "Single sign-on was refused" in forged.content.decode()

    # Another browser (no flow started there) brings the right code and state: refused too.
    other = type(client)()
    assert "Single sign-on" in other.get(callback_url, follow=True).content.decode()
    assert "_auth_user_id" not in other.session


def test_the_nonce_is_checked(client, mapped):
    callback_url = sign_in_at_provider(client, mapped, "ben")
    state = callback_url.split("state=")[1].split("&")[0]
    session = client.session
    session["oidc_states"][state]["nonce"] = "another-nonce"
    session.save()
    refused = client.get(callback_url, follow=True)
    assert "_auth_user_id" not in client.session
    assert "Single sign-on was refused" in refused.content.decode()


def test_amr_with_a_second_factor_satisfies_two_factor_and_a_password_alone_does_not(
    client, mapped, settings
):
    settings.REQUIRE_2FA = True
    client.get(sign_in_at_provider(client, mapped, "ana"))  # amr: pwd, mfa; an admin by her group
    assert client.get(reverse("overview")).status_code == 200
    client.post(reverse("logout"))

    mapped.set_user("ben", groups=["finance"])  # a manager of other_account: two-factor required
    client.get(sign_in_at_provider(client, mapped, "ben"))  # amr: pwd
    asked = client.get(reverse("overview"))
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("two_factor"))


def test_sso_only_refuses_local_passwords_except_break_glass_superusers(
    client, mapped, manager, superuser, settings
):
    settings.SSO_ONLY = True
    page = client.get(reverse("login")).content.decode()
    assert "Break-glass sign-in (superusers only)" in page and 'id="sso-sign-in"' in page
    refused = client.post(reverse("login"), {"username": manager.username, "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    allowed = client.post(reverse("login"), {"username": superuser.username, "password": PASSWORD})
    assert allowed.status_code == 302 and client.session["_auth_user_id"] == str(superuser.pk)


def test_sign_out_ends_the_portal_session_and_the_providers(client, mapped):
    browser = requests.Session()
    client.get(sign_in_at_provider(client, mapped, "ben", browser))
    out = client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session
    assert out["Location"].startswith(mapped.discovery["end_session_endpoint"])
    assert "id_token_hint=" in out["Location"]

    confirm = browser.get(out["Location"], timeout=10)
    action = re.search(r'action="([^"]+)"', confirm.text).group(1)
    hidden = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', confirm.text))
    done = browser.post(
        urljoin(confirm.url, action), {**hidden, "logout": "yes"}, allow_redirects=False, timeout=10
    )
    assert done.headers["Location"] == "http://testserver/login/"
    # Signed out at the provider too: the next sign-in asks for the password again.
    start = client.get(reverse("oidc_authentication_init"))
    assert "/interaction/" in browser.get(start["Location"], allow_redirects=True, timeout=10).url


def test_a_person_without_a_password_confirms_sudo_by_signing_in_at_the_provider_again(client, mapped):
    browser = requests.Session()
    client.get(sign_in_at_provider(client, mapped, "ben", browser))
    page = client.get(reverse("sudo"), {"next": "/two-factor/"}).content.decode()
    assert 'id="sso-reauth"' in page and 'name="password"' not in page

    start = client.get(reverse("oidc_authentication_init"), {"reauth": "1", "next": "/two-factor/"})
    assert "prompt=login" in start["Location"]
    back = client.get(through_provider(browser, mapped, start["Location"], "ben"))
    assert back["Location"] == "/two-factor/"
    assert client.session[sudo.SESSION_KEY] > timezone.now().timestamp()


def test_sso_is_off_unless_configured(client, settings):
    settings.SSO_ENABLED = False
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert 'id="sso-sign-in"' not in client.get(reverse("login")).content.decode()
