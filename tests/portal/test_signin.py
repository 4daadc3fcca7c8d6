"""Sign-in throttling (django-axes): per username and per (username, address), never per address alone;
the admin's log-in counts like the portal's; a lock lifts after the cool-down or an admin's unlock."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from billing.models import AuditAction, AuditEntry
from tests.support.people_fixtures import PASSWORD

pytestmark = pytest.mark.django_db

ADDRESS_X = "203.0.113.10"  # e.g. the reverse proxy everyone comes through
ADDRESS_Y = "198.51.100.20"


def portal_login(client, username, password, address=ADDRESS_X):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def admin_login(client, username, password, address=ADDRESS_X):
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post(reverse("admin:login"), data, REMOTE_ADDR=address)


def fail(client, username, times, address=ADDRESS_X):
    return [portal_login(client, username, "wrong", address).status_code for _ in range(times)]


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_admin_passwords_lock_the_admin_login_and_the_right_one_is_refused(client, superuser):
    codes = [admin_login(client, superuser.username, f"guess-{n}").status_code for n in range(30)]
    assert codes[:4] == [200] * 4
    assert set(codes[4:]) == {429}
    response = admin_login(client, superuser.username, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert not is_logged_in(client)


def test_admin_and_portal_failures_count_together(client, superuser):
    for _ in range(3):
        assert admin_login(client, superuser.username, "wrong").status_code == 200
    assert fail(client, superuser.username, 1) == [200]
    assert fail(client, superuser.username, 1) == [429]
    assert portal_login(client, superuser.username, PASSWORD).status_code == 429


def test_someone_elses_failures_from_the_same_address_do_not_lock_me_out(client, viewer, manager):
    assert fail(client, viewer.username, 5)[-1] == 429
    response = portal_login(client, manager.username, PASSWORD, ADDRESS_X)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_a_locked_username_is_locked_from_every_address(client, viewer):
    fail(client, viewer.username, 5, ADDRESS_X)
    assert portal_login(client, viewer.username, PASSWORD, ADDRESS_Y).status_code == 429
    assert not is_logged_in(client)


def test_failures_for_an_unknown_username_lock_only_that_name(client, viewer):
    assert fail(client, "nobody-here", 5)[-1] == 429
    assert portal_login(client, viewer.username, PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_cool_down(client, viewer, settings):
    fail(client, viewer.username, 5)
    later = timezone.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS - 60)
    with time_machine.travel(later, tick=False):
        assert portal_login(client, viewer.username, PASSWORD).status_code == 429
    after = timezone.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    with time_machine.travel(after, tick=False):
        assert portal_login(client, viewer.username, PASSWORD).status_code == 302


def test_refused_attempts_while_locked_do_not_extend_the_lock(client, viewer, settings):
    fail(client, viewer.username, 5)
    halfway = timezone.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS / 2)
    with time_machine.travel(halfway, tick=False):
        assert fail(client, viewer.username, 3) == [429] * 3
    after = timezone.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    with time_machine.travel(after, tick=False):
        assert portal_login(client, viewer.username, PASSWORD).status_code == 302


def test_a_successful_log_in_clears_earlier_failures(client, viewer):
    fail(client, viewer.username, 4)
    assert portal_login(client, viewer.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    assert fail(client, viewer.username, 4) == [200] * 4


def test_an_admin_unlock_lets_the_person_in_at_once(client, viewer, superuser):
    fail(client, viewer.username, 5)
    admin = client.__class__()
    admin.force_login(superuser)
    attempts = AccessAttempt.objects.filter(username=viewer.username)
    response = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock_usernames", "_selected_action": [a.pk for a in attempts]},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=viewer.username).exists()
    assert portal_login(client, viewer.username, PASSWORD).status_code == 302
    unlock = AuditEntry.objects.get(action=AuditAction.SIGNIN_UNLOCK)
    assert unlock.actor == superuser
    assert unlock.parameters["username"] == viewer.username


def test_attempt_rows_cannot_be_deleted_around_the_audited_unlock(client, viewer, superuser):
    fail(client, viewer.username, 1)
    client.force_login(superuser)
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200
    assert b"unlock_usernames" in response.content
    assert b'value="delete_selected"' not in response.content


def test_each_lock_out_is_one_audit_entry_naming_the_username_tried_not_its_owner(client, viewer):
    fail(client, viewer.username, 8)
    portal_login(client, viewer.username, PASSWORD)
    entry = AuditEntry.objects.get(action=AuditAction.SIGNIN_LOCKOUT)
    # Whoever typed the passwords acted, not vera: nobody was signed in (issue 22, finding 11).
    assert entry.actor is None
    assert entry.actor_name == f"not signed in, as “{viewer.username}”"
    assert entry.ip_address == ADDRESS_X
    assert entry.parameters["username"] == viewer.username
    assert entry.parameters["failures"] == 5


def test_the_lock_out_page_is_a_clear_429_page(client, viewer):
    response = fail(client, viewer.username, 5) and portal_login(client, viewer.username, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed log-ins for this username" in response.content
    assert b"ask an admin to unlock it" in response.content
    assert b"portal.css" in response.content
