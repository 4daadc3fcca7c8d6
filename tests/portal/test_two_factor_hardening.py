"""Issue 22, finding 5: two-factor that a stolen session cannot undo. Turning it off, new recovery codes and
channel secrets ask for the password and a current code again (sudo mode, for a short window); the session
key changes at the code step; the authenticator key is encrypted and recovery codes hashed at rest; after
wrong codes the page says it is a throttle, and for how long."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse

from billing.crypto import decrypt_token
from billing.models import AuditAction, AuditEntry, Authenticator, NotificationChannel, RecoveryCode
from billing.notifications import channel_admin
from portal import two_factor
from tests.support.people_fixtures import PASSWORD, login
from tests.support.two_factor_steps import confirm_again, enrol, password_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, viewer, clock):
    """`viewer`, enrolled, past the password and the code: a session that a thief might have taken."""
    app, codes = enrol(client, viewer, clock)
    password_login(client, viewer)
    assert client.post(reverse("two_factor_verify"), {"code": app.now()}).status_code == 302
    return app, codes


def test_turning_two_factor_off_asks_for_the_password_and_a_code_again(client, viewer, clock, signed_in):
    app, _ = signed_in
    refused = client.post(reverse("two_factor_disable"), HTTP_REFERER="http://testserver/two-factor/")
    assert refused.status_code == 302
    assert refused["Location"].startswith(reverse("sudo"))
    assert two_factor.is_enrolled(viewer)

    page = client.get(refused["Location"])
    assert b"Confirm it is you" in page.content and b'name="password"' in page.content
    clock.shift(timedelta(seconds=31))
    wrong_password = client.post(reverse("sudo"), {"password": "nope", "code": app.now()})
    assert b"That password is not right." in wrong_password.content
    no_code = client.post(reverse("sudo"), {"password": PASSWORD, "code": "000000"})
    assert b"That code is not right" in no_code.content
    assert client.post(reverse("two_factor_disable")).status_code == 302
    assert two_factor.is_enrolled(viewer)

    clock.shift(timedelta(seconds=31))
    confirmed = client.post(
        reverse("sudo"), {"password": PASSWORD, "code": app.now(), "next": "/two-factor/"}
    )
    assert confirmed["Location"] == "/two-factor/"
    client.post(reverse("two_factor_disable"))
    assert not two_factor.is_enrolled(viewer)
    assert AuditEntry.objects.filter(action=AuditAction.SUDO_CONFIRMED, actor=viewer).count() == 1


def test_new_recovery_codes_ask_again_and_the_window_closes(client, viewer, clock, signed_in, settings):
    app, _ = signed_in
    assert client.post(reverse("two_factor_renew_codes"))["Location"].startswith(reverse("sudo"))
    assert RecoveryCode.objects.filter(device__user=viewer).count() == 10

    confirm_again(client, app, clock)
    assert len(client.post(reverse("two_factor_renew_codes")).context["codes"]) == 10
    clock.shift(timedelta(seconds=settings.SUDO_WINDOW_SECONDS + 1))
    assert client.post(reverse("two_factor_renew_codes"))["Location"].startswith(reverse("sudo"))


def test_creating_a_channel_or_rotating_its_secret_asks_again(client, superuser, receiver):
    login(client, superuser)
    create = {"name": "Ops hook", "kind": "webhook", "url": receiver.url}
    refused = client.post(reverse("alert_channels"), create)
    assert refused["Location"].startswith(reverse("sudo"))
    assert not NotificationChannel.objects.exists()

    channel = channel_admin.create_channel(None, name="Hook", kind="webhook", url=receiver.url).channel
    before = channel.secret_encrypted
    rotate = client.post(reverse("alert_channel_rotate", args=[channel.pk]))
    assert rotate["Location"].startswith(reverse("sudo"))
    channel.refresh_from_db()
    assert channel.secret_encrypted == before and not channel.rotating

    # Not enrolled: the password alone opens the window.
    assert client.post(reverse("sudo"), {"password": PASSWORD}).status_code == 302
    assert b"signing-secret" in client.post(reverse("alert_channel_rotate", args=[channel.pk])).content


def test_the_session_key_changes_at_the_code_step(client, viewer, clock):
    app, _ = enrol(client, viewer, clock)
    password_login(client, viewer)
    after_password = client.session.session_key
    client.post(reverse("two_factor_verify"), {"code": app.now()})
    after_code = client.session.session_key
    assert after_code != after_password
    assert not SessionStore().exists(after_password)
    assert client.get(reverse("overview")).status_code == 200


def _raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608  (a table name of ours)
        return repr(cursor.fetchall())


def test_the_authenticator_key_is_encrypted_and_recovery_codes_hashed_at_rest(client, viewer, clock):
    _, codes = enrol(client, viewer, clock)
    device = Authenticator.objects.get(user=viewer)
    hex_key = decrypt_token(device.key_encrypted)
    assert len(hex_key) == 40
    stored = _raw_rows(Authenticator._meta.db_table)
    assert hex_key not in stored and hex_key.upper() not in stored
    hashed = _raw_rows(RecoveryCode._meta.db_table)
    assert not any(code in hashed for code in codes)
    assert RecoveryCode.objects.filter(device__user=viewer).count() == len(codes)


def test_after_wrong_codes_the_page_says_it_is_a_throttle_and_for_how_long(client, viewer, clock):
    app, _ = enrol(client, viewer, clock)
    password_login(client, viewer)
    for failures in range(6):
        clock.shift(timedelta(seconds=2**failures + 1))  # past the back-off, so that each wrong code counts
        client.post(reverse("two_factor_verify"), {"code": "000000"})

    right_but_throttled = client.post(reverse("two_factor_verify"), {"code": app.now()})
    text = right_but_throttled.content.decode()
    assert "Too many wrong codes" in text and "32 more seconds" in text and "throttle" in text
    assert "clock" not in text
    clock.shift(timedelta(seconds=33))
    assert client.post(reverse("two_factor_verify"), {"code": app.now()}).status_code == 302
