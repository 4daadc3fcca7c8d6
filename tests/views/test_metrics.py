"""/metrics: Prometheus text behind a bearer token, from local tables and counted API calls."""

from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from billing import sync
from billing.models import Account, ApiCallCount, SyncJob

pytestmark = pytest.mark.django_db
TOKEN = "metrics-secret-token-1234"


@pytest.fixture(autouse=True)
def _no_counts_from_other_tests():
    # Calls other tests made (and never flushed) would be added to this test's counters.
    from billing import clients

    clients._pending.clear()


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_need_the_bearer_token_and_no_login(client, metrics_on):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert TOKEN.encode() not in response.content


def test_metrics_are_closed_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_metrics_show_balances_sync_age_and_api_calls_and_errors_by_operation(client, cloudflare, metrics_on):
    good = Account.objects.create(cloudflare_id="1" * 32, name='Acme "Prod"')
    cloudflare.put_account(good.cloudflare_id, balance=120450)
    missing = Account.objects.create(cloudflare_id="2" * 32, name="Missing")

    sync.run_job(SyncJob.BALANCE, [good.pk, missing.pk])
    samples = scrape(client)

    good_labels = (("account", 'Acme "Prod"'), ("account_id", good.cloudflare_id))
    assert samples[("aigateway_billing_balance_dollars", good_labels)] == 1204.50
    assert not any(
        k[0] == "aigateway_billing_balance_dollars" and ("account", "Missing") in k[1] for k in samples
    )
    age = samples[
        ("aigateway_billing_seconds_since_last_successful_sync", (*good_labels, ("job", "balance")))
    ]
    assert 0 <= age < 60
    never = (("account", "Missing"), ("account_id", missing.cloudflare_id), ("job", "balance"))
    assert samples[("aigateway_billing_seconds_since_last_successful_sync", never)] == float("inf")
    # Two balance calls and one spending-limit call for the account that exists; one 404 for the other.
    assert samples[("aigateway_billing_api_calls_total", (("operation", "credit_balance"),))] == 2
    assert samples[("aigateway_billing_api_calls_total", (("operation", "spending_limit.get"),))] == 1
    errors = (("error", "NotFoundError"), ("operation", "credit_balance"))
    assert samples[("aigateway_billing_api_errors_total", errors)] == 1
    assert samples[("aigateway_billing_accounts", ())] == 2


def test_api_call_counts_add_up_across_flushes(db):
    from billing import clients

    for _ in range(3):
        clients.record_api_call("credit_balance", "x", 200, 1, 1.0, None)
    clients.flush_api_call_counts()
    clients.record_api_call("credit_balance", "x", 200, 1, 1.0, None)
    clients.flush_api_call_counts()
    clients.flush_api_call_counts()  # nothing pending: nothing added
    assert ApiCallCount.objects.get(operation="credit_balance", result="ok").count == Decimal(4)
