"""The ledger page and its print view in headless Chromium: printing the page leaves out the navigation."""

import pytest

from tests.support.browser_fixtures import log_in, shoot
from tests.support.history import ledger_history, utc_midnight
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_ledger_prints_without_navigation(tab, viewer, account, tmp_path):
    ledger_history(account)
    log_in(tab, viewer.username, PASSWORD)

    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/ledger/?month={utc_midnight(4):%Y-%m}")
    assert tab.locator("#ledger-unbalanced").is_visible()
    shoot(tab, "ledger", tmp_path)
    tab.emulate_media(media="print")
    assert not tab.locator(".topbar").is_visible()
    assert not tab.locator(".filters").is_visible()
    assert tab.locator("table.ledger").first.is_visible()

    tab.emulate_media(media="screen")
    tab.click("#ledger-print")
    assert tab.locator("h1").inner_text().startswith(f"{account.name}: ledger for")
    assert tab.locator(".topbar").count() == 0
