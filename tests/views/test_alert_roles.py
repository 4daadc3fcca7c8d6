"""Issue 22, finding 9: alert rules and their recipients are admin-only, as the README says. Every page of
an account's alert rules, for each role: viewers and billing managers read them, admins change them;
every role may subscribe itself (its own address only)."""

import pytest
from django.urls import reverse

from billing.models import AlertKind, AlertRule, AlertSubscription, AuditEntry
from tests.support.alerts import RULE_POST, rule_url
from tests.support.people_fixtures import login

ROLES = ["viewer", "manager", "admin_user"]
# What each role gets: (the list, the rule editor read, the editor's save, the reset, the subscription).
EXPECTED = {
    "viewer": (200, 403, 403, 403, 302),
    "manager": (200, 403, 403, 403, 302),
    "admin_user": (200, 200, 302, 302, 302),
}


def _reset_url(account) -> str:
    return reverse("account_alert_rule_reset", args=[account.cloudflare_id, AlertKind.LOW_BALANCE.value])


@pytest.mark.parametrize("person", ROLES)
def test_the_alert_list_shows_the_editing_buttons_to_admins_only(client, account, person, request):
    login(client, request.getfixturevalue(person))

    page = client.get(reverse("account_alerts", args=[account.cloudflare_id]))

    assert page.status_code == EXPECTED[person][0]
    assert (rule_url(account).encode() in page.content) is (person == "admin_user")


@pytest.mark.parametrize("person", ROLES)
def test_the_rule_editor_is_for_admins(client, account, person, request):
    login(client, request.getfixturevalue(person))

    assert client.get(rule_url(account)).status_code == EXPECTED[person][1]
    posted = client.post(rule_url(account), {**RULE_POST, "recipients": "outsider@elsewhere.test"})

    assert posted.status_code == EXPECTED[person][2]
    saved = AlertRule.objects.filter(account=account, kind=AlertKind.LOW_BALANCE).exists()
    assert saved is (person == "admin_user")
    assert AuditEntry.objects.filter(action="alert_rule.change").exists() is (person == "admin_user")


@pytest.mark.parametrize("person", ROLES)
def test_resetting_a_rule_to_the_default_is_for_admins(client, account, admin_user, person, request):
    login(client, admin_user)
    client.post(rule_url(account), RULE_POST)
    client.logout()
    login(client, request.getfixturevalue(person))

    response = client.post(_reset_url(account))

    assert response.status_code == EXPECTED[person][3]
    still_own = AlertRule.objects.filter(account=account, kind=AlertKind.LOW_BALANCE).exists()
    assert still_own is (person != "admin_user")


@pytest.mark.parametrize("person", ROLES)
def test_every_role_subscribes_itself(client, account, person, request):
    user = request.getfixturevalue(person)
    login(client, user)

    response = client.post(
        reverse("account_alert_subscription", args=[account.cloudflare_id]), {"subscribe": "1"}
    )

    assert response.status_code == EXPECTED[person][4]
    assert AlertSubscription.objects.filter(user=user).exists()
