"""Django admin: tokens go in encrypted and come back only as their last 4; mirrored rows are read-only."""

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Account, BalanceSnapshot

pytestmark = pytest.mark.django_db

TOKEN = "cf-token-abcdefghijklmnop-WXYZ"


def test_account_token_is_stored_encrypted_and_shown_as_last_4(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:billing_account_add"),
        {
            "name": "New account",
            "cloudflare_id": "c" * 32,
            "is_active": "on",
            "api_token": TOKEN,
            "grants-TOTAL_FORMS": "0",
            "grants-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    account = Account.objects.get(cloudflare_id="c" * 32)
    assert TOKEN not in account.api_token_ciphertext
    assert account.api_token() == TOKEN
    change = client.get(reverse("admin:billing_account_change", args=[account.pk])).content.decode()
    listing = client.get(reverse("admin:billing_account_changelist")).content.decode()
    for html in (change, listing):
        assert TOKEN not in html
        assert "•••• WXYZ" in html


def test_leaving_the_token_empty_keeps_it(client, superuser):
    account = Account.objects.create(cloudflare_id="d" * 32, name="Kept")
    account.set_api_token(TOKEN)
    account.save()
    client.force_login(superuser)
    client.post(
        reverse("admin:billing_account_change", args=[account.pk]),
        {
            "name": "Renamed",
            "cloudflare_id": "d" * 32,
            "is_active": "on",
            "api_token": "",
            "grants-TOTAL_FORMS": "0",
            "grants-INITIAL_FORMS": "0",
        },
    )
    account.refresh_from_db()
    assert account.name == "Renamed" and account.api_token() == TOKEN


def test_snapshots_are_read_only_in_the_admin(client, superuser, account):
    row = BalanceSnapshot.objects.create(account=account, taken_at=timezone.now(), balance=5)
    client.force_login(superuser)
    assert client.get(reverse("admin:billing_balancesnapshot_changelist")).status_code == 200
    assert client.get(reverse("admin:billing_balancesnapshot_add")).status_code == 403
    response = client.post(reverse("admin:billing_balancesnapshot_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert BalanceSnapshot.objects.filter(pk=row.pk).exists()
