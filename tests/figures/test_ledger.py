"""The ledger (billing/figures/ledger.py) over the sandbox through real syncs, the sandbox's clock and the
portal's moved together across UTC days: a top-up made in the portal, credit added behind the portal's back,
an auto top-up, a day whose usage is billed late, and a day still unexplained once settled (its alert)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from billing import operations, pipeline
from billing.figures import ledger
from billing.models import AlertEvent, AlertKind, LedgerDay, LedgerState, TopUpStatus
from tests.support.sandbox_fixtures import VISA

pytestmark = pytest.mark.django_db

HOUR = 3600


class Clocks:
    """The sandbox's simulated clock and the portal's (time_machine), moved together."""

    def __init__(self, sandbox, traveller) -> None:
        self.sandbox = sandbox
        self.traveller = traveller

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.sandbox.clock()["now_ms"] / 1000, UTC)

    def advance(self, seconds: int) -> None:
        self.sandbox.advance(seconds)
        self.traveller.move_to(self.now())


def next_midnight(sandbox) -> datetime:
    now_ms = sandbox.clock()["now_ms"]
    boundary = (now_ms // 86_400_000 + 1) * 86_400_000
    sandbox.advance(Decimal(boundary - now_ms) / 1000)
    return datetime.fromtimestamp(boundary / 1000, UTC)


def row(account, day: date) -> LedgerDay:
    return LedgerDay.objects.get(account=account, day=day)


def test_the_ledger_accounts_for_every_dollar_over_real_syncs(cloudflare, account, manager):
    start = next_midnight(cloudflare)
    cloudflare.put_account(
        account.cloudflare_id, balance=5000, payment_method=VISA, usage_per_hour=1, usage_rhythm=False
    )
    day0 = start.date()
    with time_machine.travel(start, tick=False) as traveller:
        clocks = Clocks(cloudflare, traveller)
        pipeline.sync_account(account)

        # Day 0: a $20 top-up made in the portal at 06:00, $10 credit behind the portal's back at 12:00.
        clocks.advance(6 * HOUR)
        topup = operations.start_topup(account, manager, 2000, uuid.uuid4()).topup
        clocks.advance(10)
        operations.check_topup_now(topup)
        topup.refresh_from_db()
        assert topup.status == TopUpStatus.COMPLETED
        clocks.advance(6 * HOUR - 10)
        cloudflare.credit(account.cloudflare_id, 1000)
        # Day 1: auto top-up of $20 below $50 (it fires at 06:00), and usage billed 30 hours late.
        clocks.advance(12 * HOUR)
        pipeline.sync_account(account)
        cloudflare.put_account(
            account.cloudflare_id, topup_config={"amount": 2000, "threshold": 5000}, usage_delay_hours=30
        )

        first = row(account, day0)
        assert (first.opening, first.topups, first.other_credit, first.usage) == (50, 20, 10, 24)
        assert (first.expected, first.observed, first.difference) == (56, 56, 0)
        assert first.state == LedgerState.EXPLAINED
        assert first.reason == "balance rose by $10.00 with no top-up we know of"
        assert {"kind": "topup", "ref": topup.payment_intent_id, "amount": "20"} in first.sources

        clocks.advance(24 * HOUR)
        pipeline.sync_account(account)
        late = row(account, day0 + timedelta(days=1))
        assert late.auto_topups == 20
        assert late.sources[0]["kind"] == "auto_topup" and late.sources[0]["ref"].startswith("in_")
        assert late.usage < 24 and late.observed == 52
        assert late.state == LedgerState.EXPLAINED
        assert late.reason.startswith("usage not billed yet")

        # The late usage arrives: the day balances.
        cloudflare.put_account(account.cloudflare_id, usage_delay_hours=0)
        clocks.advance(HOUR)
        pipeline.sync_account(account)
        late.refresh_from_db()
        assert (late.usage, late.expected, late.observed, late.state) == (24, 52, 52, LedgerState.BALANCED)

        # Day 2: $5 leaves the balance with no usage to show for it, and stays unexplained once settled.
        clocks.advance(4 * HOUR)
        cloudflare.credit(account.cloudflare_id, -500)
        clocks.advance(19 * HOUR)
        pipeline.sync_account(account)
        short = row(account, day0 + timedelta(days=2))
        assert short.state == LedgerState.EXPLAINED and short.difference == -5
        assert not AlertEvent.objects.filter(account=account, kind=AlertKind.LEDGER_UNBALANCED).exists()

        clocks.advance(24 * HOUR)
        pipeline.sync_account(account)
        clocks.advance(12 * HOUR)  # LEDGER_SETTLE_HOURS after day 2 ended
        pipeline.sync_account(account)
        short.refresh_from_db()
        assert short.settled and short.state == LedgerState.UNEXPLAINED
        assert short.reason == "the balance fell $5.00 more than the billed usage and credit explain"
        assert row(account, day0 + timedelta(days=3)).state == LedgerState.BALANCED

    alert = AlertEvent.objects.get(account=account, kind=AlertKind.LEDGER_UNBALANCED, resolved_at=None)
    assert alert.headline == (
        f"Ledger does not balance: {account.name} on {short.day:%Y-%m-%d}, -$5.00 unexplained"
    )


def test_a_month_sums_its_days(cloudflare, account):
    start = next_midnight(cloudflare)
    cloudflare.put_account(account.cloudflare_id, usage_per_hour=1, usage_rhythm=False)
    with time_machine.travel(start, tick=False) as traveller:
        clocks = Clocks(cloudflare, traveller)
        for _ in range(3):
            pipeline.sync_account(account)
            clocks.advance(24 * HOUR)
        pipeline.sync_account(account)
        months = ledger.months_of(account, clocks.now().date())

    days = [d for month in months for d in month.days if d.state == LedgerState.BALANCED]
    assert len(days) == 3
    assert sum(month.usage for month in months) == 72
    assert len(months) == 13 and months[0].first == ledger.month_start(clocks.now().date())
