"""Two-factor steps through the pages, shared by the tests of two-factor and of sudo mode (registered by
tests/conftest.py for the `clock` fixture).

- `clock`: a frozen clock that tests move by hand (TOTP codes and django-otp's throttle both read it).
- `enrol(client, user, clock)`: enrols through the pages; returns the authenticator and recovery codes.
- `password_login`, `confirm_again` (the sudo step through its page).
"""

from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.support.people_fixtures import PASSWORD


@pytest.fixture
def clock():
    """A frozen clock that tests move by hand: TOTP codes and django-otp's throttle both read it."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def authenticator(response) -> pyotp.TOTP:
    """What an authenticator app holds after the secret shown on the enrolment page is typed in."""
    return pyotp.TOTP(response.context["secret"].replace(" ", ""))


def enrol(client, user, clock):
    """Enrols `user` through the pages; returns their authenticator and recovery codes, logged out after."""
    client.force_login(user)
    page = client.get(reverse("two_factor"))
    app = authenticator(page)
    done = client.post(reverse("two_factor"), {"code": app.now()})
    assert done.status_code == 200
    codes = done.context["codes"]
    client.post(reverse("logout"))
    clock.shift(timedelta(seconds=31))  # the code used to enrol may not be used again
    return app, codes


def confirm_again(client, app, clock):
    """The sudo step through its page: the password and a code of the next time step."""
    clock.shift(timedelta(seconds=31))
    response = client.post(reverse("sudo"), {"password": PASSWORD, "code": app.now(), "next": "/two-factor/"})
    assert response.status_code == 302, response.content
    return response


def password_login(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response
