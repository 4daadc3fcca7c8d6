"""Per-account access: 404 without a grant, 403 for viewers on manager forms, audit log for admins."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from billing.models import AuditEntry, Role, TopUp
from billing.permissions import accounts_for, get_account_for

pytestmark = pytest.mark.django_db

ACCOUNT_PAGES = [
    "account",
    "usage",
    "invoices",
    "invoice_upcoming",
    "invoices_csv",
    "reconciliation",
    "topups",
    "auto_topup",
    "spending_limit",
]
MANAGER_PAGES = ["topup_new", "auto_topup_remove", "spending_limit_remove"]
MANAGER_POSTS = [
    ("topup_new", {"amount": "20"}),
    ("topup_confirm", {"amount_cents": "2000", "intent_key": "8d6f1e3c-1a8e-4c52-9a0b-0e7c1f2a3b4c"}),
    ("auto_topup", {"amount": "50", "threshold": "20"}),
    ("auto_topup_remove", {}),
    ("spending_limit", {"amount": "100", "duration": "monthly", "strategy": "fixed"}),
    ("spending_limit_remove", {}),
    ("refresh", {}),
]


@pytest.fixture(autouse=True)
def _no_api(settings):
    settings.CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4"
    settings.CLOUDFLARE_MAX_RETRIES = 0


def test_get_account_for_returns_the_account_with_the_role(viewer, account):
    found = get_account_for(viewer, account.cloudflare_id)
    assert found == account and found.user_role == Role.VIEWER


def test_get_account_for_is_404_without_a_grant(outsider, account):
    with pytest.raises(Http404):
        get_account_for(outsider, account.cloudflare_id)


def test_get_account_for_is_403_below_the_needed_role(viewer, account):
    with pytest.raises(PermissionDenied):
        get_account_for(viewer, account.cloudflare_id, need=Role.MANAGER)


def test_superusers_see_every_account_as_admins(superuser, account, other_account):
    found = list(accounts_for(superuser))
    assert found == [account, other_account]
    assert {a.user_role for a in found} == {Role.ADMIN}


def test_inactive_accounts_are_hidden(viewer, account):
    account.is_active = False
    account.save()
    with pytest.raises(Http404):
        get_account_for(viewer, account.cloudflare_id)


@pytest.mark.parametrize("name", ACCOUNT_PAGES + MANAGER_PAGES)
def test_outsiders_get_404_on_every_account_url(client, outsider, account, name):
    client.force_login(outsider)
    assert client.get(reverse(name, args=[account.cloudflare_id])).status_code == 404


def test_unknown_account_is_404_too(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("account", args=["f" * 32])).status_code == 404


@pytest.mark.parametrize("name", ACCOUNT_PAGES)
def test_viewers_can_browse(client, viewer, account, name):
    client.force_login(viewer)
    assert client.get(reverse(name, args=[account.cloudflare_id])).status_code == 200


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_viewers_cannot_open_manager_forms(client, viewer, account, name):
    client.force_login(viewer)
    response = client.get(reverse(name, args=[account.cloudflare_id]))
    assert response.status_code == 403
    assert b"can't do that here" in response.content


@pytest.mark.parametrize(("name", "data"), MANAGER_POSTS)
def test_viewers_cannot_post_manager_forms_and_the_refusal_is_audited(client, viewer, account, name, data):
    client.force_login(viewer)
    response = client.post(
        reverse(name, args=[account.cloudflare_id]),
        data,
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT="curl/8",
    )
    assert response.status_code == 403
    assert TopUp.objects.count() == 0
    # Issue 22, finding 11: the refused attempt is an entry, with who, where from and what.
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.actor) == ("request.refused", "denied", viewer)
    assert (entry.account, entry.parameters["route"], entry.parameters["status"]) == (account, name, 403)
    assert (entry.ip_address, entry.user_agent) == ("198.51.100.7", "curl/8")


@pytest.mark.parametrize(("name", "data"), MANAGER_POSTS)
def test_outsiders_get_404_on_posts(client, outsider, account, name, data):
    client.force_login(outsider)
    assert client.post(reverse(name, args=[account.cloudflare_id]), data).status_code == 404


def test_viewer_pages_show_no_forms(client, viewer, account):
    client.force_login(viewer)
    for name in ("auto_topup", "spending_limit", "account"):
        html = client.get(reverse(name, args=[account.cloudflare_id])).content.decode()
        assert 'method="post" action="/accounts/' not in html
        assert "Top up</a>" not in html


def test_forms_need_csrf(manager, account):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(reverse("spending_limit", args=[account.cloudflare_id]), {"amount": "5"})
    assert response.status_code == 403


def test_audit_log_is_for_admins(client, viewer, manager, admin_user):
    for user, status in ((viewer, 403), (manager, 403), (admin_user, 200)):
        client.force_login(user)
        assert client.get(reverse("audit")).status_code == status


def test_admins_see_only_their_accounts_audit_entries(client, admin_user, account, other_account):
    for acc in (account, other_account):
        AuditEntry.objects.create(
            actor_name=f"someone-{acc.name}",
            account=acc,
            account_cloudflare_id=acc.cloudflare_id,
            action="topup.create",
            outcome="succeeded",
        )
    client.force_login(admin_user)
    html = client.get(reverse("audit")).content.decode()
    assert "someone-Acme Prod" in html
    assert "someone-Other Team" not in html


def test_audit_link_only_for_admins(client, viewer, admin_user):
    client.force_login(viewer)
    assert "Audit log" not in client.get("/").content.decode()
    client.force_login(admin_user)
    assert "Audit log" in client.get("/").content.decode()
