"""The gateway rule editor against the sandbox over real HTTP: each change reaches the gateway as exactly
that change, once, audited; a concurrent change, a spent window, a 403 and a lost answer are handled."""

import copy
import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import operations
from billing.clients import client_for
from billing.models import (
    AuditAction,
    AuditEntry,
    AuditOutcome,
    Gateway,
    GatewayRule,
    GatewaySpendHour,
    WriteIntent,
)
from billing.sync.gateways import store_gateway, sync_gateways
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db

GATEWAY = {
    "id": "chat-app",
    "cache_invalidate_on_update": True,
    "cache_ttl": 300,
    "collect_logs": True,
    "rate_limiting_interval": 60,
    "rate_limiting_limit": 100,
    "rate_limiting_technique": "sliding",
    "retry_max_attempts": 3,
    "spend_limits": {
        "enabled": True,
        "rules": [
            {"id": "chat-weekly", "limit": 50, "limitType": "cost", "window": 604800, "technique": "sliding"}
        ],
    },
}


def store(account, gateway_id="chat-app"):
    """What the gateway sync would leave: the gateway and its rules as Cloudflare has them."""
    remote = client_for(account).ai_gateway.get(gateway_id, account_id=account.cloudflare_id)
    return store_gateway(account, remote)


def remote(cloudflare, account, gateway_id="chat-app") -> dict:
    return next(g for g in cloudflare.gateways(account.cloudflare_id)["gateways"] if g["id"] == gateway_id)


def others(gateway: dict) -> dict:
    """Every field but the rules and modified_at: what a rule change must leave as it was."""
    rest = copy.deepcopy(gateway)
    rest.pop("modified_at")
    rest["spend_limits"].pop("rules")
    return rest


@pytest.fixture
def gw(cloudflare, account):
    cloudflare.put_gateways(account.cloudflare_id, gateways=[GATEWAY, {"id": "default"}])
    gateway = store(account)
    cloudflare.clear_requests()
    return gateway


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


def url(name, account, *args):
    return reverse(name, args=[account.cloudflare_id, "chat-app", *args])


def form_data(response, **values) -> dict:
    """The form's hidden fields as the page rendered them, plus `values`."""
    form = response.context["form"]
    hidden = {field.name: field.value() for field in form.hidden_fields()}
    hidden = {name: value for name, value in hidden.items() if value not in (None, False, "")}
    return {**{k: str(v) for k, v in hidden.items()}, **values}


NEW_RULE = {
    "limit": "5",
    "window": "3600",
    "technique": "fixed",
    "models_typed": "gpt-4o-mini, gpt-4o",
    "providers": [],
    "enabled": "on",
}


def puts(cloudflare):
    return api_requests(cloudflare, "PUT", "/gateways/")


def test_add_rule_sends_exactly_that_rule_and_every_other_field_as_read(as_manager, cloudflare, account, gw):
    before = remote(cloudflare, account)
    page = as_manager.get(url("gateway_rule_add", account))
    assert page.status_code == 200
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))
    assert response.status_code == 302, response.content.decode()[:2000]
    after = remote(cloudflare, account)
    assert others(after) == others(before)
    assert after["modified_at"] != before["modified_at"]
    old, new = after["spend_limits"]["rules"]
    assert old == before["spend_limits"]["rules"][0]
    assert new["limit"] == Decimal(5) and new["window"] == 3600 and new["technique"] == "fixed"
    assert new["model"] == {"mode": "filter", "values": ["gpt-4o-mini", "gpt-4o"]}
    assert "provider" not in new and new["enabled"] is True and new["id"].startswith("rule_")
    assert len(puts(cloudflare)) == 1
    entry = AuditEntry.objects.get(action=AuditAction.GATEWAY_RULE_ADD)
    assert entry.outcome == AuditOutcome.SUCCEEDED and entry.actor_name == "max-manager"
    assert [r["id"] for r in entry.parameters["before"]] == ["chat-weekly"]
    assert [r["limit"] for r in entry.parameters["after"]] == ["50", "5"]
    # Stored at once: the page shows the new rule without waiting for a sync.
    assert list(GatewayRule.objects.values_list("rule_id", flat=True)) == ["chat-weekly", new["id"]]
    assert b"gpt-4o-mini" in as_manager.get(url("gateway_rules", account)).content


def test_edit_keeps_the_rules_id_and_converts_a_custom_window(as_manager, cloudflare, account, gw):
    before = remote(cloudflare, account)
    page = as_manager.get(url("gateway_rule_edit", account, 0))
    assert page.context["form"].initial["limit"] == "50.00"
    values = {"limit": "75.50", "window": "custom", "window_number": "2", "window_unit": "days"}
    values |= {"technique": "fixed", "providers_typed": "openai", "enabled": "on"}
    response = as_manager.post(url("gateway_rule_edit", account, 0), form_data(page, **values))
    assert response.status_code == 302, response.content.decode()[:2000]
    after = remote(cloudflare, account)
    assert others(after) == others(before)
    (rule,) = after["spend_limits"]["rules"]
    assert rule["id"] == "chat-weekly" and rule["limit"] == Decimal("75.5") and rule["window"] == 172800
    assert rule["provider"] == {"mode": "filter", "values": ["openai"]}
    entry = AuditEntry.objects.get(action=AuditAction.GATEWAY_RULE_EDIT)
    assert entry.parameters["before"][0]["limit"] == "50" and entry.parameters["after"][0]["window"] == 172800


def test_toggle_then_remove(as_manager, cloudflare, account, gw):
    before = remote(cloudflare, account)
    rules = as_manager.get(url("gateway_rules", account))
    action = rules.context["rows"][0]["action"]
    data = {f.name: str(f.value()) for f in action.hidden_fields() if f.value()}
    assert as_manager.post(url("gateway_rule_toggle", account, 0), data).status_code == 302
    toggled = remote(cloudflare, account)
    assert toggled["spend_limits"]["rules"][0] == {**before["spend_limits"]["rules"][0], "enabled": False}
    assert others(toggled) == others(before)
    page = as_manager.get(url("gateway_rule_remove", account, 0))
    assert b"Remove rule chat-weekly" in page.content
    assert as_manager.post(url("gateway_rule_remove", account, 0), form_data(page)).status_code == 302
    removed = remote(cloudflare, account)
    assert removed["spend_limits"]["rules"] == [] and others(removed) == others(before)
    assert len(puts(cloudflare)) == 2
    outcomes = AuditEntry.objects.values_list("action", "outcome")
    assert set(outcomes) == {
        (AuditAction.GATEWAY_RULE_TOGGLE, AuditOutcome.SUCCEEDED),
        (AuditAction.GATEWAY_RULE_REMOVE, AuditOutcome.SUCCEEDED),
    }
    assert not GatewayRule.objects.exists()


def test_a_gateway_changed_since_the_form_was_shown_is_refused_and_nothing_is_sent(
    as_manager, cloudflare, account, gw
):
    page = as_manager.get(url("gateway_rule_add", account))
    changed = cloudflare.put_gateways(
        account.cloudflare_id, gateways=[{**GATEWAY, "cache_ttl": 900}, {"id": "default"}]
    )
    cloudflare.clear_requests()
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))
    assert response.status_code == 409
    text = response.content.decode()
    assert "changed in Cloudflare at" in text and "since you opened this form" in text
    assert "outside the portal" in text and "Review and save again" in text
    assert puts(cloudflare) == [] and len(api_requests(cloudflare, "GET")) == 1
    assert remote(cloudflare, account)["cache_ttl"] == 900 == changed["gateways"][0]["cache_ttl"]
    assert AuditEntry.objects.get().outcome == AuditOutcome.FAILED
    # The form is shown again as of the fresh read: saving it now goes through.
    again = as_manager.post(url("gateway_rule_add", account), form_data(response, **NEW_RULE))
    assert again.status_code == 302 and len(puts(cloudflare)) == 1


def test_a_concurrent_change_made_through_the_portal_names_who_made_it(
    as_manager, cloudflare, account, gw, make_user
):
    from tests.support.people_fixtures import grant

    page = as_manager.get(url("gateway_rule_add", account))
    other = make_user("bea")
    grant(other, account, "admin")
    change = operations.RuleChange("chat-app", gw.modified_at, uuid.uuid4())
    draft = operations.RuleDraft(limit=Decimal(7), window_seconds=86400, technique="fixed")
    operations.add_rule(account, other, change, draft)

    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))

    assert response.status_code == 409
    text = response.content.decode()
    assert "by bea through the portal (gateway rule added)" in text
    assert "outside the portal" not in text


def test_a_new_rule_can_be_named_and_a_typo_warned_of_not_refused(as_manager, cloudflare, account, gw):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    GatewaySpendHour.objects.create(
        account=account, hour=hour, gateway="chat-app", model="gpt-4o-mini", cost=Decimal(1), synced_at=hour
    )
    page = as_manager.get(url("gateway_rule_add", account))
    values = {**NEW_RULE, "name": "mini-hourly", "models_typed": "gpt-4o-mni"}

    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **values), follow=True)

    assert response.status_code == 200
    rules = remote(cloudflare, account)["spend_limits"]["rules"]
    assert [rule["id"] for rule in rules] == ["chat-weekly", "mini-hourly"]
    assert "No traffic seen for ‘gpt-4o-mni’ on this account — did you mean gpt-4o-mini?" in (
        response.content.decode()
    )
    bad = as_manager.post(
        url("gateway_rule_add", account), form_data(page, **{**values, "name": "no spaces"})
    )
    assert bad.status_code == 400 and "letters, digits, - and _ only" in bad.content.decode()


def test_a_budget_below_the_windows_spend_asks_first(as_manager, cloudflare, account, gw):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    GatewaySpendHour.objects.create(
        account=account, hour=hour, gateway="chat-app", model="gpt-4o", cost=Decimal(30), synced_at=hour
    )
    page = as_manager.get(url("gateway_rule_add", account))
    values = {**NEW_RULE, "window": "86400", "technique": "sliding", "limit": "10"}
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **values))
    assert response.status_code == 409
    text = response.content.decode()
    assert "Traffic would be refused at once" in text and "$30.00" in text and "1 day sliding" in text
    assert "Save anyway" in text
    assert cloudflare.requests() == []  # nothing asked of Cloudflare yet
    confirmed = as_manager.post(url("gateway_rule_add", account), form_data(response, **values))
    assert confirmed.status_code == 302 and len(puts(cloudflare)) == 1
    # A model the spend did not come from: nothing to confirm.
    page = as_manager.get(url("gateway_rule_add", account))
    other = {**values, "models_typed": "claude-sonnet-4"}
    assert as_manager.post(url("gateway_rule_add", account), form_data(page, **other)).status_code == 302


def test_double_submit_sends_one_put(as_manager, cloudflare, account, gw):
    page = as_manager.get(url("gateway_rule_add", account))
    data = form_data(page, **NEW_RULE)
    first = as_manager.post(url("gateway_rule_add", account), data)
    second = as_manager.post(url("gateway_rule_add", account), data, follow=True)
    assert first.status_code == 302
    assert b"already submitted; it was not sent again" in second.content
    assert len(puts(cloudflare)) == 1 and len(remote(cloudflare, account)["spend_limits"]["rules"]) == 2
    assert AuditEntry.objects.count() == 1


def test_a_403_names_the_permission_the_token_lacks(as_manager, cloudflare, account, gw):
    cloudflare.add_fault(method="PUT", path_contains="/gateways/chat-app", status=403)
    page = as_manager.get(url("gateway_rule_add", account))
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))
    assert response.status_code == 502
    assert "lacks the “AI Gateway Edit” permission" in response.content.decode()
    assert len(remote(cloudflare, account)["spend_limits"]["rules"]) == 1
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditOutcome.FAILED and "403" in entry.error


def test_a_lost_answer_is_unknown_and_not_sent_again(as_manager, cloudflare, account, gw):
    cloudflare.add_fault(method="PUT", path_contains="/gateways/chat-app", body="reset", apply=True)
    page = as_manager.get(url("gateway_rule_add", account))
    data = form_data(page, **NEW_RULE)
    response = as_manager.post(url("gateway_rule_add", account), data)
    assert response.status_code == 502
    assert "We don&#x27;t know yet whether Cloudflare applied it" in response.content.decode()
    assert AuditEntry.objects.get().outcome == AuditOutcome.UNKNOWN
    as_manager.post(url("gateway_rule_add", account), data)
    assert len(puts(cloudflare)) == 1 and AuditEntry.objects.count() == 1


def test_a_lost_answer_is_settled_by_reading_the_gateway(as_manager, cloudflare, account, gw):
    cloudflare.add_fault(method="PUT", path_contains="/gateways/chat-app", body="truncated", apply=True)
    page = as_manager.get(url("gateway_rule_add", account))
    as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))
    intent = WriteIntent.objects.get()
    assert intent.outcome == "unknown"

    assert operations.settle_write(intent.pk)

    intent.refresh_from_db()
    assert intent.outcome == "succeeded"
    assert intent.cloudflare_holds == "2 spend-limit rule(s) on chat-app, spend limits on"
    settled = AuditEntry.objects.get(action=AuditAction.WRITE_SETTLED)
    assert settled.outcome == AuditOutcome.SUCCEEDED
    assert len(puts(cloudflare)) == 1


def test_a_long_retry_after_on_the_put_is_answered_at_once(as_manager, cloudflare, account, gw, settings):
    from billing import clients

    settings.CLOUDFLARE_MAX_RETRIES = 2  # a background job would wait out a Retry-After this long
    clients.reset_clients()
    cloudflare.add_fault(
        method="PUT", path_contains="/gateways/chat-app", status=429, retry_after=45, count=2
    )
    page = as_manager.get(url("gateway_rule_add", account))

    started = time.monotonic()
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))

    assert time.monotonic() - started < 2
    assert re.search(
        r"Cloudflare asked to wait 45 s, until 10:2\d:\d\d UTC\. Nothing was sent", response.content.decode()
    )
    assert len(puts(cloudflare)) == 1


def test_viewers_get_403_on_every_form(client, viewer, account, gw):
    client.force_login(viewer)
    assert client.get(url("gateway_rules", account)).status_code == 200
    assert b"Add a rule" not in client.get(url("gateway_rules", account)).content
    for name, args in [
        ("gateway_rule_add", ()),
        ("gateway_rule_edit", (0,)),
        ("gateway_rule_remove", (0,)),
    ]:
        assert client.get(url(name, account, *args)).status_code == 403
        assert client.post(url(name, account, *args), {}).status_code == 403
    assert client.post(url("gateway_rule_toggle", account, 0), {}).status_code == 403


def test_the_spending_limit_page_says_account_limits_are_deprecated(as_manager, account, gw):
    text = as_manager.get(reverse("spending_limit", args=[account.cloudflare_id])).content.decode()
    assert "Cloudflare has deprecated the account-level spending limit" in text
    assert "HTTP 403" in text and url("gateway_rules", account) in text


# ----------------------------------------------------------------------------- rules that are enforced
OFF_NOTE = "Rules are not enforced: spend limits are off on this gateway."


def without(gateway: dict, *names) -> dict:
    return {k: v for k, v in gateway.items() if k not in names}


def red_notes(html: str) -> list[str]:
    """The text of each red notice on a page."""
    return re.findall(r'<div class="notice bad"[^>]*>(.*?)</div>', html, re.S)


def chat_app_limits(cloudflare, account) -> dict:
    gateways = cloudflare.spend_limits(account.cloudflare_id)["gateways"]
    return next(g for g in gateways if g["id"] == "chat-app")


def test_a_rule_added_where_spend_limits_are_absent_sends_enabled_and_cloudflare_enforces_it(
    as_manager, cloudflare, account
):
    cloudflare.put_account(account.cloudflare_id, balance=10_000, usage_per_hour=1, usage_rhythm=False)
    cloudflare.put_gateways(
        account.cloudflare_id,
        gateways=[without(GATEWAY, "spend_limits"), {"id": "default"}],
        mix=[("chat-app", "openai", "gpt-4o-mini", 1)],
    )
    gateway = store(account)
    assert gateway.spend_limits_enabled is None and not gateway.spend_limits_on
    cloudflare.clear_requests()
    page = as_manager.get(url("gateway_rule_add", account))
    assert "Adding this rule turns them on" in page.content.decode()
    values = {**NEW_RULE, "limit": "0.25", "models_typed": ""}
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **values))
    assert response.status_code == 302, response.content.decode()[:2000]
    (put,) = puts(cloudflare)
    assert put["body"]["spend_limits"]["enabled"] is True
    assert remote(cloudflare, account)["spend_limits"]["enabled"] is True
    gateway.refresh_from_db()
    assert gateway.spend_limits_on
    entry = AuditEntry.objects.get(action=AuditAction.GATEWAY_RULE_ADD)
    assert (entry.parameters["enabled_before"], entry.parameters["enabled_after"]) == (None, True)
    # Cloudflare (the sandbox) now refuses what goes past $0.25 an hour of the $1 an hour of traffic.
    cloudflare.advance(3600)
    limits = chat_app_limits(cloudflare, account)
    assert limits["rules"][0]["in_force"] is True and limits["blocked_requests"] > 0


def test_spend_limits_off_is_said_in_red_and_turning_them_on_is_audited(as_manager, cloudflare, account):
    rules = GATEWAY["spend_limits"]["rules"]
    absent = {**GATEWAY, "spend_limits": {"rules": rules}}
    off = {**GATEWAY, "id": "batch", "spend_limits": {"enabled": False, "rules": [{**rules[0], "id": "b"}]}}
    cloudflare.put_gateways(account.cloudflare_id, gateways=[absent, off, {"id": "default"}])
    sync_gateways(account)
    assert not Gateway.objects.get(gateway_id="chat-app").spend_limits_on
    assert Gateway.objects.get(gateway_id="batch").spend_limits_enabled is False
    cloudflare.clear_requests()
    tab = as_manager.get(reverse("gateways", args=[account.cloudflare_id])).content.decode()
    assert [OFF_NOTE in note for note in red_notes(tab)] == [True, True]  # batch and chat-app
    assert "leaves “enabled” out, which it reads as off" in tab
    page = as_manager.get(url("gateway_rules", account))
    text = page.content.decode()
    assert any(OFF_NOTE in note and "Turn spend limits on" in note for note in red_notes(text))
    assert "not in force" in text
    before = remote(cloudflare, account)
    form = page.context["enable_form"]
    data = {f.name: str(f.value()) for f in form.hidden_fields() if f.value()}
    enable = reverse("gateway_spend_limits_enable", args=[account.cloudflare_id, "chat-app"])
    done = as_manager.post(enable, data, follow=True)
    assert done.status_code == 200
    assert "Spend limits switched on in Cloudflare" in done.content.decode()
    assert OFF_NOTE not in done.content.decode() and done.context["enable_form"] is None
    (put,) = puts(cloudflare)
    assert put["body"]["spend_limits"] == {"enabled": True, "rules": before["spend_limits"]["rules"]}
    after = remote(cloudflare, account)
    assert without(after, "modified_at", "spend_limits") == without(before, "modified_at", "spend_limits")
    assert chat_app_limits(cloudflare, account)["rules"][0]["in_force"] is True
    entry = AuditEntry.objects.get(action=AuditAction.GATEWAY_SPEND_LIMITS_ENABLE)
    assert entry.outcome == AuditOutcome.SUCCEEDED and entry.actor_name == "max-manager"
    assert (entry.parameters["enabled_before"], entry.parameters["enabled_after"]) == (None, True)
    assert entry.parameters["before"] == entry.parameters["after"]
    assert [r["id"] for r in entry.parameters["after"]] == ["chat-weekly"]
    again = as_manager.post(enable, data, follow=True)  # the same form again: not sent twice
    assert b"already submitted; it was not sent again" in again.content and len(puts(cloudflare)) == 1
    tab = as_manager.get(reverse("gateways", args=[account.cloudflare_id])).content.decode()
    assert len(red_notes(tab)) == 1  # batch only


def test_viewers_see_spend_limits_off_without_the_button(client, viewer, cloudflare, account):
    absent = {**GATEWAY, "spend_limits": {"rules": GATEWAY["spend_limits"]["rules"]}}
    cloudflare.put_gateways(account.cloudflare_id, gateways=[absent, {"id": "default"}])
    store(account)
    client.force_login(viewer)
    text = client.get(url("gateway_rules", account)).content.decode()
    assert OFF_NOTE in text and "Turn spend limits on" not in text
    enable = reverse("gateway_spend_limits_enable", args=[account.cloudflare_id, "chat-app"])
    assert client.post(enable, {}).status_code == 403


def test_turning_spend_limits_on_with_a_lost_answer_is_unknown_and_not_sent_again(
    as_manager, cloudflare, account
):
    absent = {**GATEWAY, "spend_limits": {"rules": GATEWAY["spend_limits"]["rules"]}}
    cloudflare.put_gateways(account.cloudflare_id, gateways=[absent, {"id": "default"}])
    store(account)
    cloudflare.clear_requests()
    cloudflare.add_fault(method="PUT", path_contains="/gateways/chat-app", body="reset", apply=True)
    form = as_manager.get(url("gateway_rules", account)).context["enable_form"]
    data = {f.name: str(f.value()) for f in form.hidden_fields() if f.value()}
    enable = reverse("gateway_spend_limits_enable", args=[account.cloudflare_id, "chat-app"])
    response = as_manager.post(enable, data)
    assert response.status_code == 502
    assert "We don&#x27;t know yet whether Cloudflare applied it" in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.GATEWAY_SPEND_LIMITS_ENABLE)
    assert entry.outcome == AuditOutcome.UNKNOWN and entry.parameters["enabled_after"] is True
    as_manager.post(enable, data)
    assert len(puts(cloudflare)) == 1 and AuditEntry.objects.count() == 1


def test_a_rule_without_technique_is_a_sliding_window_end_to_end(as_manager, cloudflare, account):
    bare_rule = without(GATEWAY["spend_limits"]["rules"][0], "technique") | {"window": 86400}
    gateway = {**GATEWAY, "spend_limits": {"enabled": True, "rules": [bare_rule]}}
    cloudflare.put_gateways(account.cloudflare_id, gateways=[gateway, {"id": "default"}])
    # 14 hours ago is yesterday (UTC): inside a sliding day, outside the fixed (UTC) day.
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=14)
    assert hour.date() < timezone.now().date()
    GatewaySpendHour.objects.create(
        account=account, hour=hour, gateway="chat-app", model="gpt-4o", cost=Decimal(7), synced_at=hour
    )
    sync_gateways(account)
    rule = GatewayRule.objects.get()
    assert rule.technique == "sliding" and rule.window_spend == Decimal(7)
    assert rule.resets_at == rule.computed_at + timedelta(hours=1)  # a sliding window frees up gradually
    assert "1 day, sliding window" in as_manager.get(url("gateway_rules", account)).content.decode()
    tab = as_manager.get(reverse("gateways", args=[account.cloudflare_id])).content.decode()
    assert "sliding</span>" in tab and "fixed</span>" not in tab
    assert chat_app_limits(cloudflare, account)["rules"][0]["technique"] == "sliding"
    page = as_manager.get(url("gateway_rule_edit", account, 0))
    assert page.context["form"].initial["technique"] == "sliding"
    cloudflare.clear_requests()
    values = {"limit": "60", "window": "86400", "technique": "sliding", "enabled": "on"}
    assert as_manager.post(url("gateway_rule_edit", account, 0), form_data(page, **values)).status_code == 302
    (put,) = puts(cloudflare)
    assert put["body"]["spend_limits"]["rules"][0]["technique"] == "sliding"


def twenty_rules(cloudflare, account) -> None:
    rules = [{"id": f"r{n}", "limit": 50, "limitType": "cost", "window": 3600} for n in range(20)]
    gateway = {**GATEWAY, "spend_limits": {"enabled": True, "rules": rules}}
    cloudflare.put_gateways(account.cloudflare_id, gateways=[gateway, {"id": "default"}])
    store(account)
    cloudflare.clear_requests()


def test_a_21st_rule_is_refused_with_the_reason_before_anything_is_sent(as_manager, cloudflare, account):
    twenty_rules(cloudflare, account)
    listing = as_manager.get(url("gateway_rules", account)).content.decode()
    assert "20 rules, the most Cloudflare allows on one gateway" in listing
    assert url("gateway_rule_add", account) not in listing
    page = as_manager.get(url("gateway_rule_add", account))
    assert page.status_code == 409
    assert "already has 20 spend-limit rules" in page.content.decode()
    modified_at = Gateway.objects.get(gateway_id="chat-app").modified_at.isoformat()
    data = {**NEW_RULE, "modified_at": modified_at, "intent_key": str(uuid.uuid4())}
    response = as_manager.post(url("gateway_rule_add", account), data)
    assert response.status_code == 409
    assert "the most Cloudflare allows on one gateway (20)" in response.content.decode()
    assert cloudflare.requests() == []  # not even a read
    assert not AuditEntry.objects.exists() and not WriteIntent.objects.exists()
    assert len(remote(cloudflare, account)["spend_limits"]["rules"]) == 20


def test_a_21st_rule_is_refused_on_cloudflares_count_too_with_no_put(as_manager, cloudflare, account):
    twenty_rules(cloudflare, account)
    GatewayRule.objects.filter(position=19).delete()  # the local copy lags: it shows 19
    page = as_manager.get(url("gateway_rule_add", account))
    assert page.status_code == 200
    response = as_manager.post(url("gateway_rule_add", account), form_data(page, **NEW_RULE))
    assert response.status_code == 409
    assert "already has 20 spend-limit rules" in response.content.decode()
    assert puts(cloudflare) == [] and len(api_requests(cloudflare, "GET")) == 1
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditOutcome.FAILED and "20 spend-limit rules" in entry.error
