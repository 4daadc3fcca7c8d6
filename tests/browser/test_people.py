"""Inviting someone from the People page and accepting the emailed link, in headless Chromium, with the
email going through the real SMTP server on loopback."""

import re

import pytest

from billing.models import AccountAccess, Role
from tests.support.browser_fixtures import log_in, shoot
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "plum-orchard-lantern-42"


def test_invite_and_accept_in_the_browser(tab, admin_user, account, smtp_server, tmp_path):
    log_in(tab, admin_user.username, PASSWORD)
    tab.click("nav >> text=People")
    tab.fill("#id_email", "nina@example.com")
    tab.select_option("#id_role", Role.MANAGER)
    shoot(tab, "people", tmp_path)
    tab.click("button:has-text('Send invitation')")
    assert tab.locator("text=Invitation sent to nina@example.com for Acme Prod.").is_visible()
    assert tab.locator("table >> text=nina@example.com").is_visible()

    (message,) = smtp_server.messages
    path = re.search(r"(/invitations/[\w-]+/)", smtp_server.text_of(message)).group(1)
    tab.click("button:has-text('Log out')")
    tab.goto(tab.base + path)
    assert tab.locator("text=invited as billing manager of Acme Prod").is_visible()
    tab.fill("#id_username", "nina")
    tab.fill("#id_password1", NEW_PASSWORD)
    tab.fill("#id_password2", NEW_PASSWORD)
    tab.click("button:has-text('Create my log-in and accept')")
    tab.wait_for_url("**/login/")
    assert tab.locator("text=Welcome: you have access to Acme Prod.").is_visible()

    log_in(tab, "nina", NEW_PASSWORD)
    assert tab.locator("main >> text=Acme Prod").first.is_visible()
    assert AccountAccess.objects.get(user__username="nina", account=account).role == Role.MANAGER
    tab.goto(tab.base + path)
    assert tab.locator("text=This invitation was already used.").is_visible()
