"""Keyboard only, in headless Chromium: buying credit (top-up form → confirmation → result) and editing a
gateway rule with Tab, Enter and typing alone, the focused element visibly outlined at every step."""

import re

import pytest

from billing.clients import client_for
from billing.sync.gateways import store_gateway
from tests.support.browser_fixtures import log_in
from tests.support.history import seed_history
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Whether the focused element shows where focus is: an outline or a focus ring drawn as a box shadow.
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {shown: outlined || style.boxShadow !== "none", text: (el.innerText || el.value || "").trim(),
          id: el.id, tag: el.tagName};
}"""


def tab_to(tab, wanted, limit: int = 80) -> dict:
    """Presses Tab until `wanted(focused)` holds, asserting that focus is visible at every stop."""
    for _ in range(limit):
        tab.keyboard.press("Tab")
        focused = tab.evaluate(FOCUS_SHOWN)
        if focused is None:
            continue
        assert focused["shown"], f"focus is not visible on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError("never reached by Tab")


def test_buy_credit_with_the_keyboard_alone(tab, manager, account, cloudflare):
    seed_history(account)
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/")

    tab_to(tab, lambda f: f["text"] == "Top up")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/topups/new/")
    tab_to(tab, lambda f: f["id"] == "id_amount")
    tab.keyboard.type("25")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("text=Pay")
    tab_to(tab, lambda f: f["text"].startswith("Pay $"))
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(r".*/topups/\d+/$"))

    assert tab.locator("h2", has_text="Top-up of $25.00").is_visible()


def test_edit_a_gateway_rule_with_the_keyboard_alone(tab, manager, account, cloudflare):
    seed_history(account)
    rule = {"id": "chat-weekly", "limit": 50, "limitType": "cost", "window": 604800, "technique": "sliding"}
    cloudflare.put_gateways(
        account.cloudflare_id,
        gateways=[{"id": "chat-app", "spend_limits": {"enabled": True, "rules": [rule]}}, {"id": "default"}],
    )
    store_gateway(account, client_for(account).ai_gateway.get("chat-app", account_id=account.cloudflare_id))
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/gateways/chat-app/rules/")

    tab_to(tab, lambda f: f["text"] == "Edit")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/rules/*/edit/")
    tab_to(tab, lambda f: f["id"] == "id_limit")
    tab.keyboard.press("Control+A")
    tab.keyboard.type("30")
    tab_to(tab, lambda f: f["text"] == "Save rule")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/gateways/chat-app/rules/")

    assert tab.locator("text=Rule chat-weekly saved.").is_visible()
    (saved,) = next(
        g for g in cloudflare.gateways(account.cloudflare_id)["gateways"] if g["id"] == "chat-app"
    )["spend_limits"]["rules"]
    assert saved["limit"] == 30
