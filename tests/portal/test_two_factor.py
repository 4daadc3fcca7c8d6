"""Two-factor sign-in (django-otp): enrolment with a locally drawn QR code, the code step after the password,
single-use recovery codes, REQUIRE_2FA for everyone who can move money, and the admin behind it too."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from billing.models import AuditAction, AuditEntry
from portal import two_factor
from tests.support.people_fixtures import PASSWORD
from tests.support.two_factor_steps import confirm_again, enrol, password_login

pytestmark = pytest.mark.django_db


def test_enrolment_page_draws_the_qr_code_locally_and_shows_the_secret(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("two_factor"))
    assert response.status_code == 200
    assert b'<svg width="' in response.content and b'class="qr-code"' in response.content
    assert response.context["secret"].replace(" ", "").isalnum()
    # Ready for a strict Content-Security-Policy: no inline script or style.
    assert b"<script>" not in response.content
    assert b"style=" not in response.content
    assert b"https://" not in response.content.split(b"<svg")[1].split(b"</svg>")[0]


def test_enrolment_refuses_a_wrong_code(client, viewer):
    client.force_login(viewer)
    client.get(reverse("two_factor"))
    response = client.post(reverse("two_factor"), {"code": "000000"})
    assert response.status_code == 200
    assert b"That code is not right" in response.content
    assert not two_factor.is_enrolled(viewer)


def test_enrolment_shows_ten_single_use_recovery_codes_once(client, viewer, clock):
    _, codes = enrol(client, viewer, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert AuditEntry.objects.filter(action=AuditAction.TWO_FACTOR_ENROLLED, actor=viewer).count() == 1


def test_password_then_code_then_overview(client, viewer, clock):
    app, _ = enrol(client, viewer, clock)
    password_login(client, viewer)
    response = client.get(reverse("overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert client.get(response["Location"]).status_code == 200

    wrong = client.post(reverse("two_factor_verify"), {"code": "123456", "next": "/"})
    assert wrong.status_code == 200
    assert b"That code is not right" in wrong.content
    assert client.get(reverse("overview")).status_code == 302

    clock.shift(timedelta(seconds=2))  # past django-otp's back-off after one failure
    right = client.post(reverse("two_factor_verify"), {"code": app.now(), "next": "/"})
    assert right.status_code == 302
    assert right["Location"] == "/"
    assert client.get(reverse("overview")).status_code == 200


def test_an_enrolled_session_reaches_no_page_before_the_code(client, viewer, account, clock):
    enrol(client, viewer, clock)
    password_login(client, viewer)
    for url in (reverse("account", args=[account.pk]), reverse("two_factor"), reverse("alert_history")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor_verify"))


def test_a_recovery_code_works_once(client, viewer, clock):
    _, codes = enrol(client, viewer, clock)
    password_login(client, viewer)
    response = client.post(reverse("two_factor_verify"), {"code": codes[0]})
    assert response.status_code == 302
    assert client.get(reverse("overview")).status_code == 200
    used = AuditEntry.objects.get(action=AuditAction.TWO_FACTOR_RECOVERY_USED)
    assert used.parameters == {"recovery_codes_left": 9}

    client.post(reverse("logout"))
    clock.shift(timedelta(seconds=5))
    password_login(client, viewer)
    again = client.post(reverse("two_factor_verify"), {"code": codes[0]})
    assert again.status_code == 200
    assert client.get(reverse("overview")).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, viewer, clock):
    app, old = enrol(client, viewer, clock)
    password_login(client, viewer)
    client.post(reverse("two_factor_verify"), {"code": app.now()})
    confirm_again(client, app, clock)
    new = client.post(reverse("two_factor_renew_codes")).context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    client.post(reverse("logout"))
    clock.shift(timedelta(seconds=5))
    password_login(client, viewer)
    assert client.post(reverse("two_factor_verify"), {"code": old[1]}).status_code == 200
    clock.shift(timedelta(seconds=5))
    assert client.post(reverse("two_factor_verify"), {"code": new[1]}).status_code == 302


def test_require_2fa_sends_a_manager_to_enrolment_but_not_a_viewer(client, manager, viewer, settings):
    settings.REQUIRE_2FA = True
    password_login(client, manager)
    response = client.get(reverse("overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))
    assert client.get(response["Location"]).status_code == 200
    client.post(reverse("logout"))

    password_login(client, viewer)
    assert client.get(reverse("overview")).status_code == 200


def test_require_2fa_applies_to_admins_superusers_and_staff(admin_user, superuser, make_user, settings):
    settings.REQUIRE_2FA = True
    assert two_factor.must_use(admin_user)
    assert two_factor.must_use(superuser)
    assert two_factor.must_use(make_user("stan-staff", is_staff=True))
    settings.REQUIRE_2FA = False
    assert not two_factor.must_use(superuser)


def test_disabling_is_refused_when_two_factor_is_required(client, manager, settings, clock):
    app, _ = enrol(client, manager, clock)
    settings.REQUIRE_2FA = True
    password_login(client, manager)
    client.post(reverse("two_factor_verify"), {"code": app.now()})
    confirm_again(client, app, clock)
    response = client.post(reverse("two_factor_disable"), follow=True)
    assert b"cannot be turned off" in response.content
    assert two_factor.is_enrolled(manager)


def test_a_viewer_may_disable_their_own_two_factor(client, viewer, clock):
    app, _ = enrol(client, viewer, clock)
    password_login(client, viewer)
    client.post(reverse("two_factor_verify"), {"code": app.now()})
    confirm_again(client, app, clock)
    client.post(reverse("two_factor_disable"))
    assert not two_factor.is_enrolled(viewer)
    assert AuditEntry.objects.filter(action=AuditAction.TWO_FACTOR_DISABLED).count() == 1


def test_the_admin_refuses_a_session_without_two_factor(client, superuser, settings):
    settings.REQUIRE_2FA = True
    client.force_login(superuser)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))


def test_the_admin_asks_an_enrolled_superuser_for_the_code_then_opens(client, superuser, settings, clock):
    app, _ = enrol(client, superuser, clock)
    settings.REQUIRE_2FA = True
    credentials = {"username": superuser.username, "password": PASSWORD, "next": "/admin/"}
    client.post(reverse("admin:login"), credentials)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))
    client.post(reverse("two_factor_verify"), {"code": app.now()})
    assert client.get("/admin/").status_code == 200


def test_the_admin_site_itself_denies_an_unverified_staff_session(superuser, settings):
    # Holds even if the middleware were taken out.
    settings.REQUIRE_2FA = True
    request = RequestFactory().get("/admin/")
    request.user = superuser
    superuser.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    superuser.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_user_menu_links_to_two_factor(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("overview"))
    assert f'href="{reverse("two_factor")}"'.encode() in response.content
