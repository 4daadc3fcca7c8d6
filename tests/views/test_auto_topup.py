"""Auto top-up and spending-limit pages against the sandbox: warnings, confirmations, refusals."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import AuditEntry, AutoTopUpConfig, SpendingLimit, SyncRun, UsageRecord
from tests.support.history import snapshot
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db


def url(name, account):
    return reverse(name, args=[account.cloudflare_id])


def test_set_auto_topup_saves_and_shows_the_new_state_at_once(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "100")
    client.force_login(manager)
    response = client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"}, follow=True)
    html = response.content.decode()
    assert "Auto top-up is on: $50.00 whenever the balance falls below $20.00." in html
    assert "$50.00 below $20.00" in html
    remote = cloudflare.account(account.cloudflare_id)["topup_config"]
    assert (remote["amount"], remote["threshold"]) == (5000, 2000)
    assert AutoTopUpConfig.objects.get(account=account).enabled


def test_bad_input_names_the_field_and_sends_nothing(client, manager, account, cloudflare):
    client.force_login(manager)
    response = client.post(url("auto_topup", account), {"amount": "5", "threshold": "abc"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Top-up amount must be at least $10.00." in html
    assert "Threshold must be a number of dollars" in html
    assert api_requests(cloudflare) == []


def test_threshold_below_peak_daily_spend_is_warned_before_saving(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "500")
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    UsageRecord.objects.create(
        account=account,
        window="day",
        start=today - timedelta(days=2),
        end=today - timedelta(days=1),
        summary_id="d2",
        value=Decimal("80"),
        synced_at=timezone.now(),
    )
    client.force_login(manager)
    response = client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"})
    html = response.content.decode()
    assert "is below this account&#x27;s peak daily spend of the last 14 days ($80.00)" in html
    assert "Save anyway" in html
    assert api_requests(cloudflare, "POST") == []
    response = client.post(
        url("auto_topup", account), {"amount": "50", "threshold": "20", "accept_warnings": "1"}
    )
    assert response.status_code == 302
    assert len(api_requests(cloudflare, "POST", "/topup/config")) == 1


def test_threshold_above_balance_warns_that_a_topup_fires_at_once(client, manager, account, cloudflare):
    snapshot(account, "8")
    client.force_login(manager)
    html = client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"}).content.decode()
    assert "already below the threshold: saving will buy $50.00 of credit at once" in html
    assert api_requests(cloudflare, "POST") == []


def test_dashboard_only_refusal_links_to_the_dashboard(client, manager, account, cloudflare, settings):
    settings.CLOUDFLARE_DASHBOARD_URL = "https://dash.example.com/"
    snapshot(account, "100")
    client.force_login(manager)
    response = client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"})
    html = response.content.decode()
    assert response.status_code == 502
    assert "only from its dashboard" in html
    assert 'href="https://dash.example.com/?to=/:account/ai/ai-gateway"' in html
    assert not AutoTopUpConfig.objects.filter(account=account).exists()
    assert AuditEntry.objects.get().outcome == "refused"


AI_GATEWAY_DASHBOARD = 'href="https://dash.cloudflare.com/?to=/:account/ai/ai-gateway"'


def lead(html: str) -> str:
    """The notice the page opens with, after its header: the first thing a person reads."""
    return html[html.index('class="subnav"') :].split("<section", 1)[0]


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_auto_topup_page_says_up_front_that_cloudflare_takes_it_from_its_dashboard(
    client, account, cloudflare, role, request
):
    client.force_login(request.getfixturevalue(role))
    html = client.get(url("auto_topup", account)).content.decode()
    first = lead(html)
    assert "Cloudflare accepts auto top-up changes only from its dashboard." in first
    assert AI_GATEWAY_DASHBOARD in first and 'class="notice info"' in first
    assert "Cloudflare refused" not in html
    assert api_requests(cloudflare) == []  # a page view asks Cloudflare nothing


def test_after_a_refusal_the_auto_topup_pages_lead_with_it(client, manager, account, cloudflare):
    snapshot(account, "100")
    client.force_login(manager)
    client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"})
    for page in ("auto_topup", "auto_topup_remove"):
        first = lead(client.get(url(page, account)).content.decode())
        assert "Cloudflare refused to change auto top-up for this account" in first, page
        assert manager.username in first and AI_GATEWAY_DASHBOARD in first
        assert 'class="notice bad"' in first and "accepts auto top-up changes only" in first


def test_the_demo_switch_lets_the_form_through_and_ends_the_refusal(client, manager, account, cloudflare):
    snapshot(account, "100")
    client.force_login(manager)
    assert client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"}).status_code == 502
    cloudflare.configure(accept_dashboard_writes=True)
    response = client.post(url("auto_topup", account), {"amount": "50", "threshold": "20"}, follow=True)
    html = response.content.decode()
    assert "Auto top-up is on: $50.00" in html and "Cloudflare refused" not in html
    assert cloudflare.account(account.cloudflare_id)["topup_config"]["amount"] == 5000


def test_spending_limit_page_says_up_front_that_the_api_refuses_it(client, manager, account, cloudflare):
    client.force_login(manager)
    first = lead(client.get(url("spending_limit", account)).content.decode())
    assert "Its API always refuses to create or change one (HTTP 403)" in first
    assert AI_GATEWAY_DASHBOARD in first and 'class="notice info"' in first


def test_after_a_refusal_the_spending_limit_page_leads_with_it(client, manager, account, cloudflare):
    snapshot(account, "100")
    client.force_login(manager)
    response = client.post(
        url("spending_limit", account), {"amount": "500", "duration": "monthly", "strategy": "fixed"}
    )
    assert response.status_code == 502
    assert "Use per-gateway spend limits instead." in response.content.decode()
    assert not SpendingLimit.objects.filter(account=account).exists()
    first = lead(client.get(url("spending_limit", account)).content.decode())
    assert "Cloudflare refused to set this account's spending limit" in first
    assert 'class="notice bad"' in first and AI_GATEWAY_DASHBOARD in first
    assert "Cloudflare refused" not in lead(client.get(url("auto_topup", account)).content.decode())


def test_a_failing_auto_topup_can_be_changed_or_turned_off_and_reads_in_words(client, manager, account):
    AutoTopUpConfig.objects.create(
        account=account,
        amount=50,
        threshold=20,
        disabled_reason="no_payment_method",
        synced_at=timezone.now(),
    )
    client.force_login(manager)
    html = client.get(url("auto_topup", account)).content.decode()
    assert "Change auto top-up" in html and "Set up auto top-up" not in html
    assert url("auto_topup_remove", account) in html
    assert "no card on file" in html and ": no_payment_method" not in html


def test_remove_auto_topup_asks_first_then_removes(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    AutoTopUpConfig.objects.create(account=account, amount=50, threshold=20, synced_at=timezone.now())
    client.force_login(manager)
    html = client.get(url("auto_topup_remove", account)).content.decode()
    assert "Turn off auto top-up?" in html
    assert api_requests(cloudflare) == []
    response = client.post(url("auto_topup_remove", account), follow=True)
    assert "Auto top-up is off." in response.content.decode()
    assert not AutoTopUpConfig.objects.get(account=account).enabled
    assert len(api_requests(cloudflare, "DELETE", "/topup/config")) == 1
    assert AuditEntry.objects.get().action == "auto_topup.delete"


def test_set_spending_limit_and_see_spend_in_the_window(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "100")
    client.force_login(manager)
    response = client.post(
        url("spending_limit", account),
        {"amount": "500", "duration": "monthly", "strategy": "fixed"},
        follow=True,
    )
    html = response.content.decode()
    assert "Spending limit set: $500.00 per monthly window (fixed window)." in html
    assert "Spent this window" in html
    assert SpendingLimit.objects.get(account=account).enabled
    assert api_requests(cloudflare, "POST", "/spending-limit")[0]["body"] == {
        "amount": 50000,
        "duration": "monthly",
        "strategy": "fixed",
    }


def test_spending_limit_explains_the_first_topup_rule(client, manager, account, cloudflare):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch: Cloudflare refuses these to tokens
    snapshot(account, "100", first_topup_success=False)
    cloudflare.put_account(account.cloudflare_id, first_topup_success=False)
    client.force_login(manager)
    html = client.get(url("spending_limit", account)).content.decode()
    assert "has not had a successful top-up yet" in html
    response = client.post(
        url("spending_limit", account), {"amount": "5", "duration": "daily", "strategy": "fixed"}
    )
    assert response.status_code == 502
    assert "Cloudflare said" in response.content.decode()
    assert not SpendingLimit.objects.filter(account=account).exists()


def test_bad_spending_limit_input(client, manager, account, cloudflare):
    client.force_login(manager)
    response = client.post(
        url("spending_limit", account), {"amount": "0.5", "duration": "x", "strategy": "fixed"}
    )
    html = response.content.decode()
    assert "Limit must be at least $1.00." in html
    assert "Select a valid choice" in html
    assert api_requests(cloudflare) == []


def test_remove_spending_limit_asks_first(client, manager, account, cloudflare):
    SpendingLimit.objects.create(
        account=account,
        enabled=True,
        amount=100,
        duration="daily",
        strategy="fixed",
        synced_at=timezone.now(),
    )
    client.force_login(manager)
    assert "Remove the spending limit?" in client.get(url("spending_limit_remove", account)).content.decode()
    response = client.post(url("spending_limit_remove", account), follow=True)
    assert "The spending limit is removed." in response.content.decode()
    assert not SpendingLimit.objects.get(account=account).enabled
    assert len(api_requests(cloudflare, "DELETE", "/spending-limit")) == 1


def test_refresh_now_syncs_and_audits(
    client, manager, account, cloudflare, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):  # the worker takes the task once committed
        response = client.post(url("refresh", account), {"next": url("usage", account)})
    assert response["Location"] == url("usage", account)
    assert account.balance_snapshots.count() == 1
    assert AuditEntry.objects.get().action == "account.refresh"
    assert AuditEntry.objects.get().outcome == "queued"  # the request only queued it
    assert "Refresh done." in client.get(url("usage", account)).content.decode()


def test_a_finished_refresh_is_told_only_to_who_asked_and_not_for_long(
    client, manager, admin_user, account, cloudflare, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("refresh", account))
    assert "Refresh done." in client.get(url("account", account)).content.decode()

    other = Client()
    other.force_login(admin_user)
    assert "Refresh done." not in other.get(url("account", account)).content.decode()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert "Refresh done." not in client.get(url("account", account)).content.decode()


def test_refresh_failure_is_explained_not_a_traceback(
    client, manager, account, cloudflare, eager_tasks, django_capture_on_commit_callbacks
):
    cloudflare.add_fault(path_contains="credit-balance", count=10, status=401)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(url("refresh", account))
    response = client.get(posted["Location"])  # the page it returns to, once the worker is done
    html = response.content.decode()
    assert response.status_code == 200
    assert "Refresh failed" in html
    assert AuditEntry.objects.get().outcome == "queued"  # the outcome is the run's, shown on the page
    assert SyncRun.objects.get(job="refresh").outcome == "failed"


def test_refresh_ignores_offsite_next(client, manager, account, cloudflare):
    client.force_login(manager)
    response = client.post(url("refresh", account), {"next": "https://evil.example.com/"})
    assert response["Location"] == url("account", account)


def test_auto_topup_form_states_its_maximum_and_whose_it_is(client, manager, account, cloudflare):
    from billing import sync

    client.force_login(manager)
    html = client.get(url("auto_topup", account)).content.decode()
    assert "each at most $10,000.00 (the portal's maximum)" in html
    sync.store_topup_range(account, 1000, 100_000)
    html = client.get(url("auto_topup", account)).content.decode()
    assert "each at most $1,000.00 (Cloudflare's maximum top-up for this account)" in html
    response = client.post(url("auto_topup", account), {"amount": "1000.01", "threshold": "20"})
    assert "Top-up amount must be at most $1,000.00." in response.content.decode()
