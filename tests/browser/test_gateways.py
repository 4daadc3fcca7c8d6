"""Where the money goes, in headless Chromium: the Gateways tab and the breakdown of a demo account, synced
from the sandbox's "demo" seed (Labs' `experiments` rule exceeded, Acme Prod's `chat-app` rule ~85 % used)."""

import pytest

from billing import pipeline
from billing.models import Account, AccountAccess, Role
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.browser_fixtures import log_in, shoot
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(cloudflare, make_user):
    """The demo accounts, fully synced from the sandbox, and a manager of all of them."""
    cloudflare.reset("demo")
    user = make_user("mia-manager")
    accounts = {}
    for cloudflare_id, name in DEMO_ACCOUNTS:
        account = Account.objects.create(cloudflare_id=cloudflare_id, name=name)
        AccountAccess.objects.create(user=user, account=account, role=Role.MANAGER)
        pipeline.sync_account(account, raise_on_error=True)
        accounts[name] = account
    return user, accounts


def _named(accounts: dict, word: str) -> Account:
    return next(account for name, account in accounts.items() if word.lower() in name.lower())


def test_the_gateways_tab_shows_the_exceeded_rule_refusing_requests(tab, demo, tmp_path):
    user, accounts = demo
    labs = _named(accounts, "labs")
    log_in(tab, user.username, PASSWORD)

    tab.goto(f"{tab.base}/accounts/{labs.cloudflare_id}/gateways/")

    rules = tab.locator("#rules-experiments")
    exceeded = rules.locator("tr", has_text="exceeded")
    assert exceeded.count() >= 1 and exceeded.first.is_visible()
    assert exceeded.first.locator("text=requests are being refused").is_visible()
    shoot(tab, "gateways", tmp_path)


def test_the_gateways_tab_shows_a_rule_nearly_used(tab, demo):
    user, accounts = demo
    acme = _named(accounts, "acme prod")
    log_in(tab, user.username, PASSWORD)

    tab.goto(f"{tab.base}/accounts/{acme.cloudflare_id}/gateways/")

    rules = tab.locator("#rules-chat-app")
    assert rules.is_visible()
    assert rules.locator("text=requests are being refused").count() == 0
    used = rules.locator("td.num", has_text="%").first.inner_text()
    assert 75 <= float(used.rstrip(" %")) <= 95, used


def test_the_breakdown_draws_its_chart(tab, demo, tmp_path):
    user, accounts = demo
    acme = _named(accounts, "acme prod")
    log_in(tab, user.username, PASSWORD)

    tab.goto(f"{tab.base}/accounts/{acme.cloudflare_id}/gateways/breakdown/?range=7d")

    chart = tab.locator("svg").first
    assert chart.is_visible()
    assert chart.locator("rect").count() > 10  # a bar per hour with spend
    assert tab.locator("text=Spend by model").first.is_visible()
    by_model = tab.locator("section.panel", has=tab.locator("h2", has_text="By model")).locator("svg")
    box = by_model.first.bounding_box()
    labels = by_model.first.locator("text")
    names = [labels.nth(i).text_content() for i in range(labels.count())]
    assert "@cf/meta/llama-3.1-8b-instruct (workers-ai)" in names  # the longest demo name, whole
    for i in range(labels.count()):  # and every label inside the chart, none cut at an edge
        label = labels.nth(i).bounding_box()
        assert box["x"] <= label["x"] and label["x"] + label["width"] <= box["x"] + box["width"], names[i]
    shoot(tab, "gateway-breakdown", tmp_path)
