"""Named people with different access to the suite's accounts (registered by tests/conftest.py).

- `account` ("Acme Prod") and `other_account` ("Other Team"): two local accounts.
- `viewer`, `manager`, `admin_user`: vera, max and ada, each with that role on `account`; `superuser`: sam;
  `outsider`: olga, a manager of `other_account` only. `make_user(name, **extra)` makes anyone else.
- `login(client, user)` signs in through the log-in checks (django-axes), with `PASSWORD`;
  `confirmed_again(client)` opens that session's sudo window.
"""

import pytest
from django.http import HttpRequest
from django.utils import timezone

from billing.models import Account, AccountAccess, Role
from portal import sudo

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(
            username=username, email=f"{username}@example.com", password=PASSWORD, **extra
        )

    return make


@pytest.fixture
def account(db):
    return Account.objects.create(cloudflare_id="a" * 32, name="Acme Prod")


@pytest.fixture
def other_account(db):
    return Account.objects.create(cloudflare_id="b" * 32, name="Other Team")


def grant(user, account, role):
    AccountAccess.objects.create(user=user, account=account, role=role)
    return user


@pytest.fixture
def viewer(make_user, account):
    return grant(make_user("vera-viewer"), account, Role.VIEWER)


@pytest.fixture
def manager(make_user, account):
    return grant(make_user("max-manager"), account, Role.MANAGER)


@pytest.fixture
def admin_user(make_user, account):
    return grant(make_user("ada-admin"), account, Role.ADMIN)


@pytest.fixture
def superuser(make_user):
    return make_user("sam-super", is_superuser=True, is_staff=True)


@pytest.fixture
def outsider(make_user, other_account):
    """Has access to another account only."""
    return grant(make_user("olga-outsider"), other_account, Role.MANAGER)


def login(client, user):
    # django-axes checks every authentication against a request, so the test client is given one.
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    return client


def confirmed_again(client):
    """Opens the sudo window of the client's session, as if the person had just given their password and
    a code again (portal/sudo.py): for tests of what comes after that step, not of the step itself."""
    session = client.session
    session[sudo.SESSION_KEY] = timezone.now().timestamp() + 3600
    session.save()
    return client
