"""The portal in headless Chromium over a live server, with the Cloudflare sandbox behind it."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import (
    Account,
    AccountAccess,
    AlertEvent,
    AutoTopUpConfig,
    Role,
    SpendingLimit,
    TopUp,
    TopUpStatus,
)
from billing.views import topups as topup_views
from tests.support.browser_fixtures import csp_violations, log_in, shoot
from tests.support.every_page import SIDEWAYS_OVERFLOW_JS
from tests.support.history import seed_history, snapshot
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def demo_portfolio(user, account) -> None:
    """Four accounts in the states the overview must show: healthy, low, negative and failing, near a cap."""
    seed_history(account, balance="1204.50", scale="5")
    SpendingLimit.objects.filter(account=account).update(amount=Decimal(2000))
    now = timezone.now()
    for days_ago, amount in ((3, 5000), (20, 5000)):
        TopUp.objects.create(
            account=account,
            amount_cents=amount,
            fee_cents=amount // 20,
            status=TopUpStatus.COMPLETED,
            requested_at=now - timedelta(days=days_ago),
            completed_at=now - timedelta(days=days_ago),
            requested_by=user,
            card_brand="visa",
            card_last4="4242",
            payment_intent_id=f"pi_{uuid.uuid4().hex[:12]}",
        )
    states = [
        ("Acme Staging", "4.20", "0.3", "low_balance", "Low balance: Acme Staging $4.20, threshold $10.00"),
        ("Labs", "-1.35", "1.3", "auto_topup_failing", "Auto top-up failing for Labs: card_declined"),
        ("Research", "310.00", "2", "spending_limit", "Spending limit nearly used: Research"),
    ]
    for name, balance, scale, kind, headline in states:
        other = Account.objects.create(cloudflare_id=uuid.uuid4().hex, name=name)
        AccountAccess.objects.create(user=user, account=other, role=Role.MANAGER)
        seed_history(other, balance=balance, days=14, scale=scale)
        AlertEvent.objects.create(
            account=other, kind=kind, headline=headline, opened_at=now - timedelta(hours=5)
        )
        if name == "Acme Staging":
            AutoTopUpConfig.objects.filter(account=other).update(amount=None, threshold=None)
            SpendingLimit.objects.filter(account=other).update(enabled=False, amount=None)
        if name == "Labs":
            AutoTopUpConfig.objects.filter(account=other).update(
                error="card_declined",
                disabled_reason="card_declined",
                last_failed_at=now - timedelta(hours=5),
            )
            SpendingLimit.objects.filter(account=other).update(enabled=False, amount=None)
        if name == "Research":
            SpendingLimit.objects.filter(account=other).update(amount=Decimal(120), duration="weekly")


def test_log_in_and_see_the_overview(tab, manager, account, tmp_path):
    demo_portfolio(manager, account)
    log_in(tab, manager.username, PASSWORD)
    rows = tab.locator("table.accounts tbody tr")
    assert rows.count() == 4
    assert tab.locator("text=$1,204.50").is_visible()
    negative = tab.locator("span.negative", has_text="-$1.35")
    assert negative.is_visible()
    assert negative.evaluate("el => getComputedStyle(el).color") == "rgb(180, 35, 24)"
    assert tab.locator("text=failing: card declined").is_visible()  # rule 9: words, not codes
    assert tab.locator("p.data-as-of").inner_text().startswith("Data as of")
    shoot(tab, "overview", tmp_path)
    tab.set_viewport_size({"width": 390, "height": 844})
    # On a phone the table scrolls inside its panel rather than widening the page.
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(tab, "overview-mobile", tmp_path)


def test_many_alerts_wrap_on_a_phone_rather_than_being_cut(tab, manager, account):
    demo_portfolio(manager, account)
    labs = Account.objects.get(name="Labs")
    for kind in ("low_balance", "runway", "usage_spike", "stale_data"):
        AlertEvent.objects.create(account=labs, kind=kind, headline=kind, opened_at=timezone.now())
    tab.set_viewport_size({"width": 390, "height": 844})
    log_in(tab, manager.username, PASSWORD)
    badges = tab.locator("table.accounts tr", has_text="Labs").locator("a.badge")
    assert badges.count() == 5
    assert tab.evaluate(SIDEWAYS_OVERFLOW_JS) == []


def test_a_long_badge_wraps_on_a_phone_rather_than_widening_the_page(tab, manager, account):
    from billing.models import BalanceSnapshot

    demo_portfolio(manager, account)
    labs = Account.objects.get(name="Labs")
    BalanceSnapshot.objects.filter(account=labs).update(has_default_payment_method=False)
    tab.set_viewport_size({"width": 390, "height": 844})
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{labs.cloudflare_id}/auto-topup/")
    assert tab.locator("span.badge", has_text="No default payment method").is_visible()
    assert tab.evaluate(SIDEWAYS_OVERFLOW_JS) == []


def test_account_usage_and_invoices_pages(tab, manager, account, tmp_path):
    demo_portfolio(manager, account)
    log_in(tab, manager.username, PASSWORD)
    tab.click("text=Acme Prod")
    assert tab.locator("svg.chart").count() == 2
    assert tab.locator("svg.chart circle.marker").count() >= 1  # completed top-ups on the balance line
    shoot(tab, "account", tmp_path)

    tab.click("nav.subnav >> text=Usage")
    bars = tab.locator("svg.chart rect.bar")
    assert bars.count() == 30
    assert tab.locator("#zone-note").inner_text().startswith("Days are UTC days")
    shoot(tab, "usage", tmp_path)
    tab.select_option("#id_window", "hour")
    tab.click("button:text('Show')")
    # The form keeps the 30 days: too many hours for one bar each, so the chart sums them in pairs.
    assert tab.locator("h2").first.inner_text().startswith("Usage per 2 hours")
    assert "Each bar of the chart is 2 hours" in tab.locator("#zone-note").inner_text()
    assert tab.locator("svg.chart rect.bar").count() >= 24

    tab.click("nav.subnav >> text=Invoices")
    assert tab.locator("table tbody tr").count() == 25
    shoot(tab, "invoices", tmp_path)
    tab.click("nav[aria-label='Invoice type'] >> text=Auto top-up")
    assert tab.locator("table tbody tr").count() == 10


def test_full_topup_from_form_to_completed(tab, manager, account, cloudflare, tmp_path, monkeypatch):
    from billing import operations

    monkeypatch.setattr(topup_views, "RESULT_REFRESH_SECONDS", 1)
    snapshot(account, "42.10")
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/")
    tab.click("a.button:text('Top up')")
    tab.fill("#id_amount", "abc")
    tab.click("button:text('Continue')")
    assert tab.locator(".errorlist").inner_text() == "Amount must be a number of dollars, like 25 or 25.50."
    tab.fill("#id_amount", "25")
    tab.click("button:text('Continue')")
    assert tab.locator("#total").inner_text() == "$26.25"
    assert tab.locator("text=Visa •••• 4242").is_visible()
    shoot(tab, "topup-confirm", tmp_path)

    tab.dblclick("button:text('Pay $26.25')")
    tab.wait_for_selector("text=Waiting for Cloudflare to confirm the payment")
    assert TopUp.objects.count() == 1
    posts = [r for r in cloudflare.requests() if r["method"] == "POST" and r["path"].endswith("/topup")]
    assert len(posts) == 1

    cloudflare.advance(10)
    topup = TopUp.objects.get()
    TopUp.objects.filter(pk=topup.pk).update(next_check_at=timezone.now())
    operations.poll_due_topups()
    # The result page reloads itself until the top-up is completed.
    tab.wait_for_selector("text=Completed.", timeout=8000)
    shoot(tab, "topup-completed", tmp_path)


def test_set_and_remove_auto_topup(tab, manager, account, cloudflare, tmp_path):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch, to show the form path
    snapshot(account, "150")
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/auto-topup/")
    tab.fill("#id_threshold", "200")
    tab.fill("#id_amount", "50")
    tab.click("button:text('Save')")
    assert tab.locator("text=already below the threshold").is_visible()
    tab.fill("#id_threshold", "20")
    tab.click("button:text('Save anyway')")
    assert tab.locator("text=Auto top-up is on: $50.00").is_visible()
    shoot(tab, "auto-topup", tmp_path)
    assert cloudflare.account(account.cloudflare_id)["topup_config"]["threshold"] == 2000

    tab.click("text=Turn off auto top-up…")
    tab.click("button:text('Yes, turn it off')")
    assert tab.locator("text=Auto top-up is off.").is_visible()
    assert not (cloudflare.account(account.cloudflare_id)["topup_config"] or {}).get("amount")


def test_set_and_remove_a_spending_limit(tab, manager, account, cloudflare, tmp_path):
    cloudflare.configure(accept_dashboard_writes=True)  # the demo switch, to show the form path
    snapshot(account, "150", first_topup_success=True)
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/spending-limit/")
    tab.fill("#id_amount", "0.50")
    tab.click("button:text('Save limit')")
    assert tab.locator(".errorlist").inner_text() == "Limit must be at least $1.00."
    tab.fill("#id_amount", "250")
    tab.select_option("#id_duration", "weekly")
    tab.select_option("#id_strategy", "sliding")
    tab.click("button:text('Save limit')")
    assert tab.locator("text=Spending limit set: $250.00 per weekly window").is_visible()
    assert tab.locator("text=Spent this window").is_visible()
    shoot(tab, "spending-limit", tmp_path)

    tab.click("text=Remove the limit…")
    tab.click("button:text('Yes, remove it')")
    assert tab.locator("text=The spending limit is removed.").is_visible()
    assert tab.locator("text=No spending limit.").is_visible()


def test_viewer_cannot_reach_the_forms(tab, viewer, account):
    snapshot(account, "80")
    log_in(tab, viewer.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/")
    assert tab.locator("a:text('Top up')").count() == 0
    assert tab.locator("text=Refresh now").count() == 0
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/auto-topup/")
    assert tab.locator("form #id_amount").count() == 0
    response = tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/topups/new/")
    assert response.status == 403
    assert tab.locator("text=You can't do that here.").is_visible()


def test_the_policy_blocks_inline_script_and_the_tab_reports_it(tab, manager, account):
    """The console listener every browser test relies on does see a violation: an inline script (as an
    injection would add) is refused, and reported."""
    log_in(tab, manager.username, PASSWORD)
    assert csp_violations(tab.console) == []
    with tab.expect_console_message(lambda message: bool(csp_violations([message.text]))):
        tab.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
            " document.body.appendChild(s); }"
        )
    assert tab.evaluate("window.injected") is None
    assert csp_violations(tab.console)
    tab.console.clear()  # seen and expected: the teardown check is for pages that were not meant to break


def test_refresh_now_is_followed_until_done(tab, manager, account, monkeypatch):
    """The account page shows a queued refresh and reloads itself (static JS, no inline script) until the
    worker has finished it."""
    from billing.models import SyncOutcome, SyncRun
    from billing.operations import refresh as refresh_operation
    from billing.views import common

    monkeypatch.setattr(common, "REFRESH_RELOAD_SECONDS", 1)
    monkeypatch.setattr(refresh_operation, "_send", lambda account_id, run_id: None)  # no worker here
    snapshot(account, "50")
    log_in(tab, manager.username, PASSWORD)
    tab.goto(f"{tab.base}/accounts/{account.cloudflare_id}/")
    tab.get_by_role("button", name="Refresh now").click()
    tab.wait_for_selector(".refresh-status")
    assert tab.locator(".refresh-status").inner_text().startswith("Refresh queued")
    run = SyncRun.objects.get(job="refresh", account=account)
    SyncRun.objects.filter(pk=run.pk).update(outcome=SyncOutcome.SUCCEEDED, finished_at=timezone.now())
    tab.wait_for_selector("text=Refresh done.", timeout=8000)
