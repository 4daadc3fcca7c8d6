"""Adding a gateway spend-limit rule through the editor in headless Chromium, with the sandbox behind it."""

from decimal import Decimal

import pytest

from billing.clients import client_for
from billing.models import GatewaySpendHour
from billing.sync.gateways import store_gateway
from tests.support.browser_fixtures import log_in, shoot
from tests.support.history import seed_history
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_rule_through_the_editor(tab, manager, account, cloudflare, tmp_path):
    seed_history(account)
    cloudflare.put_gateways(account.cloudflare_id, gateways=[{"id": "chat-app"}, {"id": "default"}])
    gateway = client_for(account).ai_gateway.get("chat-app", account_id=account.cloudflare_id)
    store_gateway(account, gateway)
    for model, provider in (("gpt-4o-mini", "openai"), ("claude-sonnet-4", "anthropic")):
        GatewaySpendHour.objects.create(
            account=account,
            hour=gateway.modified_at.replace(minute=0, second=0, microsecond=0),
            gateway="chat-app",
            model=model,
            provider=provider,
            cost=Decimal("0.40"),
            synced_at=gateway.modified_at,
        )
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/gateways/chat-app/rules/")
    assert tab.locator("text=No spend-limit rules on this gateway.").is_visible()
    tab.click("text=Add a rule")
    tab.fill("#id_limit", "25")
    tab.select_option("#id_window", "604800")
    tab.select_option("#id_technique", "sliding")
    tab.check("input[name=models][value='gpt-4o-mini']")
    shoot(tab, "gateway-rule-editor", tmp_path)
    tab.click("button:has-text('Add rule')")
    tab.wait_for_url("**/gateways/chat-app/rules/")
    assert tab.locator("text=Rule added.").is_visible()
    assert tab.locator("table.rules tbody tr").count() == 1
    assert tab.locator("table.rules >> text=7 days, sliding window").is_visible()
    shoot(tab, "gateway-rules", tmp_path)
    (rule,) = next(
        g for g in cloudflare.gateways(account.cloudflare_id)["gateways"] if g["id"] == "chat-app"
    )["spend_limits"]["rules"]
    assert rule["limit"] == Decimal(25) and rule["window"] == 604800 and rule["technique"] == "sliding"
    assert rule["model"] == {"mode": "filter", "values": ["gpt-4o-mini"]}
