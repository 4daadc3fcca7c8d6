"""Single sign-on in headless Chromium against a real OpenID provider on loopback (node's oidc-provider):
the button on the log-in page, the provider's own sign-in page, the accounts the person's groups map to, a
group removed before the next sign-in, and sign-out that ends the provider's session too."""

import pytest

from billing.models import Role, SsoRoleMapping

pytestmark = [pytest.mark.browser, pytest.mark.process, pytest.mark.django_db(transaction=True)]


def sign_in_with_sso(tab, username: str, password: str) -> None:
    tab.goto(tab.base + "/login/")
    tab.click("#sso-sign-in")
    tab.fill("#login", username)
    tab.fill("#password", password)
    tab.click("#sign-in")
    tab.wait_for_url(tab.base + "/")


def test_sign_in_maps_groups_to_roles_and_sign_out_ends_the_provider_session(
    tab, sso, account, other_account
):
    SsoRoleMapping.objects.create(group="finance", account=other_account, role=Role.MANAGER)
    sign_in_with_sso(tab, "ben", "ben-pass-2026")
    assert tab.locator("main", has_text=other_account.name).is_visible()
    assert tab.locator("main", has_text=account.name).count() == 0

    tab.click("button:has-text('Log out')")
    tab.click("button:has-text('Yes, sign me out')")  # the provider's own confirmation
    tab.wait_for_url(tab.base + "/login/")

    sso.set_user("ben", groups=[])
    tab.click("#sso-sign-in")
    assert tab.locator("#login").is_visible()  # the provider asks again: its session ended too
    tab.fill("#login", "ben")
    tab.fill("#password", "ben-pass-2026")
    tab.click("#sign-in")
    tab.wait_for_url(tab.base + "/")
    assert tab.locator("main", has_text=other_account.name).count() == 0


def test_a_callback_without_its_state_ends_on_the_log_in_page_with_the_reason(tab, sso):
    # A code and state this browser's session never asked for (a forged or replayed callback).
    tab.goto(tab.base + "/oidc/callback/?code=stolen-code&state=forged-state")
    tab.wait_for_url("**/login/")
    assert tab.locator("text=Single sign-on did not sign you in").is_visible()
    tab.goto(tab.base + "/")
    tab.wait_for_url("**/login/?next=/")
