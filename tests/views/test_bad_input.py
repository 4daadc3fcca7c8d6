"""Issue 22, findings 7 and 8, one test each: the inputs that gave a 500, and digits other than 0-9, which
are refused with a message naming the field (never read as the number they look like)."""

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import AlertRule, AuditEntry
from tests.support.alerts import RULE_POST, rule_url
from tests.support.people_fixtures import login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/%00/",
        "/accounts/{id}/gateways/%00/rules/",
        "/alerts/?account=%00",
        "/accounts/{id}/usage/?window=day%00",
    ],
)
def test_a_nul_in_a_path_or_a_query_is_a_400_that_says_so(client, superuser, account, path):
    client.force_login(superuser)

    response = client.get(path.format(id=account.cloudflare_id))

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_typed_field_is_a_message_on_the_form(client, superuser, account):
    client.force_login(superuser)
    response = client.post(rule_url(account), {**RULE_POST, "recipients": "a\x00b@example.com"})
    assert response.status_code == 200
    assert "not a valid email address" in response.content.decode()
    assert not AlertRule.objects.filter(account=account).exists()


def test_a_superscript_digit_as_the_outbox_channel_is_no_filter(client, superuser):
    client.force_login(superuser)
    assert client.get(reverse("alert_outbox"), {"channel": "²"}).status_code == 200


def test_a_username_longer_than_any_column_is_a_wrong_username(db):
    response = Client().post(reverse("login"), {"username": "u" * 300, "password": "x"})
    assert response.status_code == 200
    assert "username" in response.content.decode().lower()


def test_1e30_as_a_further_level_is_refused_with_its_bounds(client, admin_user, account):
    login(client, admin_user)
    response = client.post(rule_url(account), {**RULE_POST, "further_levels": "1e30"})
    assert response.status_code == 200
    assert "is out of bounds" in response.content.decode()


@pytest.mark.parametrize("typed", ["١٠٠", "１００", "1٠٠", "²"])
def test_digits_other_than_0_to_9_are_refused_naming_the_field(client, admin_user, account, typed):
    login(client, admin_user)

    response = client.post(rule_url(account), {**RULE_POST, "threshold": typed, "reminder_hours": typed})

    page = response.content.decode()
    assert "Threshold: type the number with the digits 0 to 9." in page
    assert "Remind every: type the number with the digits 0 to 9." in page
    assert not AlertRule.objects.filter(account=account).exists()
    assert not AuditEntry.objects.exists()


def test_an_auto_top_up_typed_in_arabic_indic_digits_is_refused(client, manager, account):
    login(client, manager)

    response = client.post(
        reverse("auto_topup", args=[account.cloudflare_id]), {"threshold": "٢٠", "amount": "٢٠"}
    )

    assert "Threshold: type the number with the digits 0 to 9." in response.content.decode()
    assert not AuditEntry.objects.exists()
