"""The official `cloudflare` SDK (5.9.0) works against the sandbox: the 12 billing operations, gateways."""

from __future__ import annotations

import warnings

import cloudflare
import pytest
from cloudflare import Cloudflare

from tests.support.sandbox_fixtures import ACCOUNT, VISA


@pytest.fixture
def client(sandbox):
    sdk = Cloudflare(api_token=sandbox.token, base_url=sandbox.base_url, max_retries=0)
    yield sdk
    sdk.close()


def test_sdk_version_is_the_pinned_one():
    assert cloudflare.__version__ == "5.9.0"


def test_all_twelve_sdk_operations(sandbox, sandbox_api, client):
    sandbox.put_account(
        ACCOUNT,
        balance=2_000,
        payment_method=VISA,
        usage_per_hour="0.5",
        usage_rhythm=False,
    )
    sandbox.advance(3 * 3600)
    billing = client.ai_gateway.billing

    balance = billing.credit_balance(account_id=ACCOUNT)  # 1
    assert balance.balance == 1_850 and balance.payment_method.last4 == "4242"
    assert balance.has_default_payment_method is True and balance.topup_config.amount is None

    usage = billing.usage_history(account_id=ACCOUNT, value_grouping_window="hour")  # 2
    assert sum(h.aggregated_value for h in usage.history) == pytest.approx(1.5)
    assert all(h.end_time - h.start_time == 3_600_000 for h in usage.history)
    start = usage.history[-1].start_time
    days = billing.usage_history(
        account_id=ACCOUNT, value_grouping_window="day", start_time=start, end_time=start + 1
    )
    assert len(days.history) == 1

    topup = billing.topup.create(account_id=ACCOUNT, amount=5_000)  # 3
    assert topup.payment_intent_id.startswith("pi_") and topup.onboarding is False and topup.brand == "visa"

    status = billing.topup.status(account_id=ACCOUNT, payment_intent_id=topup.payment_intent_id)  # 4
    assert status.status == "pending"
    sandbox.advance(5)
    assert (
        billing.topup.status(account_id=ACCOUNT, payment_intent_id=topup.payment_intent_id).status
        == "completed"
    )

    invoices = billing.invoice_history(account_id=ACCOUNT, type="manual")  # 5
    assert [(i.amount_due, i.status, i.invoice_origin) for i in invoices.invoices] == [
        (5_250, "paid", "manual")
    ]
    assert invoices.pagination.total_count == 1 and invoices.pagination.has_more is False

    preview = billing.invoice_preview(account_id=ACCOUNT)  # 6
    assert preview.status == "draft" and preview.invoice_lines[0].amount == 150
    assert preview.invoice_lines[0].pretax_credit_amounts[0].amount == 150

    created = billing.topup.config.create(account_id=ACCOUNT, amount=5_000, threshold=1_000)  # 7
    assert (created.amount, created.threshold) == (5_000, 1_000)
    config = billing.topup.config.get(account_id=ACCOUNT)  # 8
    assert (config.amount, config.threshold, config.disabled_reason, config.last_failed_at) == (
        5_000,
        1_000,
        None,
        None,
    )
    billing.topup.config.delete(account_id=ACCOUNT)  # 9
    assert billing.topup.config.get(account_id=ACCOUNT).amount is None

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # the SDK marks account spending limits deprecated
        assert (
            billing.spending_limit.create(
                account_id=ACCOUNT,
                amount=10_000,
                duration="monthly",  # 10
                strategy="fixed",
            )
            == {}
        )
    limit = billing.spending_limit.get(account_id=ACCOUNT)  # 11
    assert limit.enabled is True and (limit.config.amount, limit.config.duration) == (10_000, "monthly")
    billing.spending_limit.delete(account_id=ACCOUNT)  # 12
    assert billing.spending_limit.get(account_id=ACCOUNT).enabled is False

    # The 13th operation is in the spec but not in the SDK.
    limits = sandbox_api.result(sandbox_api.get(ACCOUNT, "topup/limits"))
    assert limits == {"min_cents": 1_000, "max_cents": 100_000, "currency": "USD"}


def test_sdk_reads_the_camelcase_failure_fields(sandbox, client):
    sandbox.put_account(
        ACCOUNT,
        balance=-135,
        topup_config={
            "amount": 2000,
            "threshold": 1000,
            "error": "no card",
            "disabledReason": "no_payment_method",
            "lastFailedAt": 1760000000,
        },
    )
    config = client.ai_gateway.billing.credit_balance(account_id=ACCOUNT).topup_config
    assert (config.disabled_reason, config.last_failed_at, config.error) == (
        "no_payment_method",
        1760000000,
        "no card",
    )


def test_sdk_raises_its_typed_errors_for_sandbox_errors(sandbox, client):
    sandbox.put_account(ACCOUNT, balance=0)
    with pytest.raises(cloudflare.BadRequestError):
        client.ai_gateway.billing.topup.create(account_id=ACCOUNT, amount=999)
    with pytest.raises(cloudflare.NotFoundError):
        client.ai_gateway.billing.credit_balance(account_id="f" * 32)
    bad_token = Cloudflare(api_token="nope", base_url=sandbox.base_url, max_retries=0)
    with pytest.raises(cloudflare.PermissionDeniedError):
        bad_token.ai_gateway.billing.credit_balance(account_id=ACCOUNT)
    bad_token.close()
    sandbox.add_fault(status=429, retry_after=1)
    with pytest.raises(cloudflare.RateLimitError):
        client.ai_gateway.billing.credit_balance(account_id=ACCOUNT)


def test_sdk_lists_gets_and_updates_gateways_with_spend_limits(sandbox, client):
    sandbox.put_account(ACCOUNT)
    names = [f"app-{n:02d}" for n in range(23)]
    sandbox.put_gateways(
        ACCOUNT, gateways=[{"id": n} for n in names], mix=[(names[0], "openai", "gpt-4o", 1)]
    )

    listed = [g.id for g in client.ai_gateway.list(account_id=ACCOUNT)]  # iterates every page (20 + 3)
    assert listed == names
    first_page = client.ai_gateway.list(account_id=ACCOUNT, per_page=5, search="app-1")
    assert [g.id for g in first_page.result] == [f"app-1{n}" for n in range(5)]

    gateway = client.ai_gateway.get("app-03", account_id=ACCOUNT)
    assert gateway.id == "app-03" and gateway.collect_logs is True and gateway.spend_limits is None
    updated = client.ai_gateway.update(
        "app-03",
        account_id=ACCOUNT,
        cache_invalidate_on_update=gateway.cache_invalidate_on_update,
        cache_ttl=gateway.cache_ttl,
        collect_logs=gateway.collect_logs,
        rate_limiting_interval=gateway.rate_limiting_interval,
        rate_limiting_limit=gateway.rate_limiting_limit,
        spend_limits={
            "enabled": True,
            "rules": [
                {
                    "limit": 12.5,
                    "limit_type": "cost",
                    "window": 86_400,
                    "technique": "sliding",
                    "model": {"mode": "filter", "values": ["gpt-4o"]},
                }
            ],
        },
    )
    rule = updated.spend_limits.rules[0]
    assert (rule.limit, rule.limit_type, rule.window, rule.technique) == (12.5, "cost", 86_400, "sliding")
    assert rule.id and rule.model.values == ["gpt-4o"]
    assert updated.modified_at > gateway.modified_at and updated.created_at == gateway.created_at
    assert client.ai_gateway.get("app-03", account_id=ACCOUNT).spend_limits.rules[0].id == rule.id


def test_sdk_raises_its_typed_errors_for_gateways(sandbox, client):
    sandbox.put_account(ACCOUNT)
    with pytest.raises(cloudflare.NotFoundError):
        client.ai_gateway.get("nope", account_id=ACCOUNT)
    with pytest.raises(cloudflare.BadRequestError):
        client.ai_gateway.update(
            "default",
            account_id=ACCOUNT,
            cache_invalidate_on_update=False,
            cache_ttl=-1,
            collect_logs=True,
            rate_limiting_interval=None,
            rate_limiting_limit=None,
        )


def test_sdk_spend_limits_as_cloudflare_defaults_them_and_a_21st_rule_refused(sandbox, client):
    sandbox.put_account(ACCOUNT)
    required = {
        "cache_invalidate_on_update": False,
        "cache_ttl": None,
        "collect_logs": True,
        "rate_limiting_interval": None,
        "rate_limiting_limit": None,
    }
    rule = {"limit": 5, "limit_type": "cost", "window": 3600}  # no technique, no enabled
    updated = client.ai_gateway.update(
        "default", account_id=ACCOUNT, **required, spend_limits={"rules": [rule]}
    )
    # Stored as sent: the SDK reads no defaults in; the sandbox enforces nothing (enabled absent is off)
    # and would count the rule's window as sliding.
    assert updated.spend_limits.enabled is None and updated.spend_limits.rules[0].technique is None
    (state,) = sandbox.spend_limits(ACCOUNT)["gateways"][0]["rules"]
    assert state["in_force"] is False and state["technique"] == "sliding"
    with pytest.raises(cloudflare.BadRequestError) as refused:
        client.ai_gateway.update(
            "default", account_id=ACCOUNT, **required, spend_limits={"enabled": True, "rules": [rule] * 21}
        )
    assert "at most 20 rules per gateway, not 21" in str(refused.value)
    assert client.ai_gateway.get("default", account_id=ACCOUNT).spend_limits.enabled is None
