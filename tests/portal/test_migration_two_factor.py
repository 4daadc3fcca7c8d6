"""Migration 0026 moves django-otp's clear devices to encrypted ones: an authenticator enrolled before it
still gives the same codes, recovery codes still work once, and no clear key or code is left."""

import base64

import pyotp
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.models import Authenticator, RecoveryCode, RecoveryCodes

BEFORE = [
    ("billing", "0025_month_budget_forecast"),
    ("otp_totp", "0003_add_timestamps"),
    ("otp_static", "0003_add_timestamps"),
]
HEX_KEY = "3132333435363738393031323334353637383930"


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


@pytest.fixture
def before_two_factor_migration(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_clear_devices_become_encrypted_ones_that_still_work(before_two_factor_migration, django_user_model):
    apps = before_two_factor_migration
    user = apps.get_model("auth", "User").objects.create(username="vera")
    apps.get_model("otp_totp", "TOTPDevice").objects.create(
        user=user, name="Phone", key=HEX_KEY, confirmed=True
    )
    static = apps.get_model("otp_static", "StaticDevice").objects.create(user=user, name="Recovery codes")
    static.token_set.create(token="abcd2345")

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    device = Authenticator.objects.get(user_id=user.pk)
    assert HEX_KEY not in device.key_encrypted
    app = pyotp.TOTP(base64.b32encode(bytes.fromhex(HEX_KEY)).decode())
    assert device.verify_token(app.now())
    codes = RecoveryCodes.objects.get(user_id=user.pk)
    assert not RecoveryCode.objects.filter(digest__contains="abcd2345").exists()
    assert codes.verify_token("abcd2345") and not codes.verify_token("abcd2345")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM otp_totp_totpdevice")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT COUNT(*) FROM otp_static_statictoken")
        assert cursor.fetchone() == (0,)
