"""`load_demo` (make run): people, access, a first sync and 30 days of balance history from the sandbox."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from billing import clients
from billing.figures import figures_for
from billing.models import (
    Account,
    AccountAccess,
    AuditEntry,
    BalanceSnapshot,
    CostCenter,
    InvoiceLine,
    Role,
    SyncRun,
)
from cloudflare_sandbox import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_portal(sandbox_demo, settings):
    """The portal pointed at the sandbox reset to its demo seed, with the four demo accounts declared."""
    settings.CLOUDFLARE_API_BASE_URL = sandbox_demo.base_url
    settings.CLOUDFLARE_API_TOKEN = sandbox_demo.token
    settings.CLOUDFLARE_ACCOUNT_IDS = [f"{account_id}={name}" for account_id, name in DEMO_ACCOUNTS]
    settings.CLOUDFLARE_RATE_LIMIT = 100_000
    clients.reset_clients()
    yield sandbox_demo
    clients.reset_clients()


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "access": AccountAccess.objects.count(),
        "snapshots": BalanceSnapshot.objects.count(),
        "syncs": SyncRun.objects.count(),
        "cost_centers": CostCenter.objects.count(),
    }


def test_load_demo_creates_people_access_and_thirty_days_of_balance_history(demo_portal):
    load_demo()

    assert set(get_user_model().objects.values_list("username", flat=True)) == {"admin", "manager", "viewer"}
    accounts = list(Account.objects.order_by("cloudflare_id"))
    assert [(a.cloudflare_id, a.name) for a in accounts] == sorted(DEMO_ACCOUNTS)
    for username, role in (("admin", Role.ADMIN), ("manager", Role.MANAGER), ("viewer", Role.VIEWER)):
        grants = AccountAccess.objects.filter(user__username=username)
        assert sorted(g.account.cloudflare_id for g in grants) == sorted(a.cloudflare_id for a in accounts)
        assert {g.role for g in grants} == {role}

    for account in accounts:
        snapshots = list(account.balance_snapshots.order_by("taken_at"))
        assert len(snapshots) >= 24 * 29, account.name
        real = snapshots[-1]  # the sync's own snapshot stays the newest
        assert account.balance_snapshots.latest() == real
        filled = snapshots[:-1]
        assert all(s.taken_at.minute == s.taken_at.second == 0 for s in filled)
        assert (filled[-1].taken_at - filled[0].taken_at).days >= 29
        assert len({s.balance for s in filled}) > 24, account.name  # a real trace, not one value repeated
        for s in filled:
            assert s.payment_method_last4 == real.payment_method_last4
            assert s.auto_topup_threshold == real.auto_topup_threshold
            assert s.auto_topup_disabled_reason == real.auto_topup_disabled_reason
    # Cents became dollars exactly, and the newest hour is within an hour's usage of what the sync read.
    prod = Account.objects.get(cloudflare_id=DEMO_ACCOUNTS[0][0])
    trace = demo_portal.call("GET", f"accounts/{prod.cloudflare_id}/balance-history")
    newest_filled, real = list(prod.balance_snapshots.order_by("-taken_at")[:2])[::-1]
    assert newest_filled.balance == Decimal(trace["balances"][-1]) / 100
    assert abs(newest_filled.balance - real.balance) < 5
    # Two cost centers and the usage invoice's lines, for the statement and the reconciliation.
    centers = CostCenter.objects.filter(account=prod)
    assert {(c.name, tuple(c.gateways)) for c in centers} == {
        ("Support", ("chat-app",)),
        ("Data platform", ("batch-jobs",)),
    }
    assert InvoiceLine.objects.filter(account=prod).exists()


def test_running_load_demo_twice_adds_nothing(demo_portal):
    load_demo()
    before = counts()
    output = load_demo()
    assert counts() == before
    assert "Balance history of" not in output


def test_without_the_sandbox_control_api_the_backfill_is_skipped_in_one_line(demo_portal, settings):
    load_demo()
    # Accounts with a single snapshot, as after a first sync against an API that is not the sandbox.
    for account in Account.objects.all():
        latest = account.balance_snapshots.latest()
        account.balance_snapshots.exclude(pk=latest.pk).delete()
    settings.CLOUDFLARE_API_BASE_URL = demo_portal.base_url.replace("/client/v4", "/elsewhere/client/v4")
    output = load_demo()
    assert BalanceSnapshot.objects.count() == len(DEMO_ACCOUNTS)
    assert output.count("No balance history to back-fill") == 1


def test_load_demo_gives_acme_prod_a_budget_with_a_forecast_once(demo_portal):
    load_demo()
    load_demo()

    budgeted = Account.objects.exclude(monthly_budget=None)
    assert [(a.name, a.monthly_budget) for a in budgeted] == [("Acme Prod", Decimal(1500))]
    month = figures_for(budgeted[0]).month
    assert month is not None and month.forecast is not None, "90 days of demo history: enough to forecast"
    assert AuditEntry.objects.filter(action="budget.set").count() == 1
