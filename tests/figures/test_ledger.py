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
    assert months[0].first == ledger.month_start(clocks.now().date())
    # From the newest month down to the first with ledger days, never more than 13.
    assert months[-1].first == ledger.month_start(start.date()) and len(months) <= 13


def test_a_top_up_asked_for_just_before_midnight_is_credit_of_the_day_the_balance_rose(
    cloudflare, account, manager
):
    """Asked for at 23:59:58, completed by Cloudflare five seconds later: the 00:00 reading does not show it,
    so it is the next day's credit, counted once (not a shortfall on the first day and credit from elsewhere
    on the second)."""
    start = next_midnight(cloudflare)
    cloudflare.put_account(
        account.cloudflare_id, balance=5000, payment_method=VISA, usage_per_hour=1, usage_rhythm=False
    )
    with time_machine.travel(start, tick=False) as traveller:
        clocks = Clocks(cloudflare, traveller)
        pipeline.sync_account(account)
        clocks.advance(24 * HOUR - 2)
        topup = operations.start_topup(account, manager, 2000, uuid.uuid4()).topup
        clocks.advance(2)
        pipeline.sync_account(account)  # the midnight reading, before the credit lands
        clocks.advance(HOUR)
        operations.check_topup_now(topup)
        topup.refresh_from_db()
        assert topup.status == TopUpStatus.COMPLETED
        pipeline.sync_account(account)
        clocks.advance(23 * HOUR)  # the second day's closing reading
        pipeline.sync_account(account)
        clocks.advance(36 * HOUR)  # both days settled
        pipeline.sync_account(account)

    first, second = row(account, start.date()), row(account, start.date() + timedelta(days=1))
    assert (first.topups, first.other_credit, first.state) == (0, 0, LedgerState.BALANCED)
    assert (second.topups, second.other_credit, second.state) == (20, 0, LedgerState.BALANCED)
    assert second.sources == [{"kind": "topup", "ref": topup.payment_intent_id, "amount": "20"}]
    assert first.difference == second.difference == 0


def test_credits_are_placed_at_the_first_reading_that_shows_them():
    at = datetime(2026, 11, 10, tzinfo=UTC)
    readings = [
        (at - timedelta(hours=1), Decimal("100")),
        (at, Decimal("99")),  # dated 00:00:00 but not yet in the balance
        (at + timedelta(hours=1), Decimal("628")),  # both invoices' credit, less an hour of usage
        (at + timedelta(hours=5), Decimal("624")),
        (at + timedelta(hours=6), Decimal("674")),  # credit from elsewhere, hours later
    ]
    credits = [
        ledger.Credit("topup", "in_a", Decimal("500"), at),
        ledger.Credit("auto_topup", "in_b", Decimal("30"), at),
        ledger.Credit("topup", "in_never", Decimal("50"), at + timedelta(hours=2)),
        ledger.Credit("in_flight", "pi_c", Decimal("40"), at),
    ]
    placed = {credit.ref: credit.at for credit in ledger.arrivals(credits, readings)}
    assert placed["in_a"] == placed["in_b"] == at + timedelta(hours=1)
    # No step within two hours of it shows $50: it keeps its time (the $50 four hours later is not it).
    assert placed["in_never"] == at + timedelta(hours=2)
    assert placed["pi_c"] == at  # in flight: never counted, never moved


def test_a_month_is_reconciled_over_the_days_its_readings_span():
    """A first day without an opening reading is left out of the month's sums, so expected, observed and the
    difference add up: -7.57 + 25.00 - 50.75 + … rather than counting a day's usage no reading covers."""
    first = date(2026, 11, 1)

    def day(n: int, opening, observed, usage, credit="0", state=LedgerState.BALANCED) -> LedgerDay:
        return LedgerDay(
            day=first + timedelta(days=n),
            opening=None if opening is None else Decimal(opening),
            observed=None if observed is None else Decimal(observed),
            usage=Decimal(usage),
            other_credit=Decimal(credit),
            difference=None if opening is None else Decimal(0),
            state=state if opening is not None else LedgerState.NO_DATA,
        )

    month = ledger.Month(first, [day(0, None, None, "1.58"), day(1, "-7.57", "16.68", "0.75", "25")])
    assert month.partial and month.span[0].day == date(2026, 11, 2)
    assert (month.opening, month.usage, month.other_credit) == (Decimal("-7.57"), Decimal("0.75"), 25)
    assert month.expected == month.observed == Decimal("16.68") and month.difference == 0
    whole = ledger.Month(first, [day(1, "-7.57", "16.68", "0.75", "25")])
    assert not whole.partial
