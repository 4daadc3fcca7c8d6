"""Derived figures (billing/figures.py) on hand-made rows: spend per day, runway, spend in limit windows."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing import figures
from billing.models import Account, BalanceSnapshot, SpendingLimit, SyncOutcome, SyncRun, UsageRecord

pytestmark = pytest.mark.django_db

# Wednesday 25 November 2026, 15:30 UTC.
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 25, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def hours(account, start: datetime, count: int, value: str = "1") -> None:
    UsageRecord.objects.bulk_create(
        UsageRecord(
            account=account, window="hour", start=start + i * HOUR, end=start + (i + 1) * HOUR,
            summary_id=f"h{(start + i * HOUR).timestamp():.0f}", value=Decimal(value), synced_at=NOW,
        )
        for i in range(count)
    )  # fmt: skip


def days(account, start: datetime, values: list[str]) -> None:
    UsageRecord.objects.bulk_create(
        UsageRecord(
            account=account, window="day", start=start + i * DAY, end=start + (i + 1) * DAY,
            summary_id=f"d{(start + i * DAY).timestamp():.0f}", value=Decimal(v), synced_at=NOW,
        )
        for i, v in enumerate(values)
    )  # fmt: skip


def balance(account, dollars: str, minutes_ago: int = 1) -> None:
    at = NOW - timedelta(minutes=minutes_ago)
    BalanceSnapshot.objects.create(account=account, taken_at=at, balance=Decimal(dollars))
    SyncRun.objects.create(
        job="balance", account=account, started_at=at, finished_at=at, outcome=SyncOutcome.SUCCEEDED
    )


def limit(account, dollars: str, duration: str, strategy: str) -> None:
    SpendingLimit.objects.create(
        account=account,
        enabled=True,
        amount=Decimal(dollars),
        duration=duration,
        strategy=strategy,
        synced_at=NOW,
    )


def test_spend_per_day_is_the_mean_of_the_last_seven_full_days_from_day_rows(account):
    days(account, MIDNIGHT - 8 * DAY, ["99", "10", "20", "30", "40", "50", "60", "70", "500"])  # last: today
    balance(account, "700")

    result = figures.figures_for(account, now=NOW)

    assert result.spend_per_day == Decimal("40")  # (10 + ... + 70) / 7: not day -8, not today
    assert result.runway_days == Decimal("17.5")
    assert result.balance == Decimal("700") and not result.is_stale


def test_spend_per_day_sums_hour_rows_when_there_are_no_day_rows(account):
    hours(account, MIDNIGHT - 7 * DAY, 7 * 24 + 15, value="0.5")
    assert figures.figures_for(account, now=NOW).spend_per_day == Decimal("12")


def test_runway_is_zero_when_credit_is_spent_and_unknown_without_spend(account, other_account):
    days(account, MIDNIGHT - 7 * DAY, ["1"] * 7)
    balance(account, "-1.35")
    balance(other_account, "50")  # no usage rows and no usage sync: spend unknown

    result = figures.figures_for_accounts([account, other_account], now=NOW)

    assert result[account.pk].runway_days == Decimal("0")
    assert result[other_account.pk].spend_per_day is None and result[other_account.pk].runway_days is None
    assert figures.runway(Decimal("10"), Decimal("0")) is None
    assert figures.runway(Decimal("10"), Decimal("3")) == Decimal("3.3")  # rounded down


def test_data_is_stale_after_the_configured_minutes_or_when_never_synced(account, other_account, settings):
    settings.STALE_AFTER_MINUTES = 15
    balance(account, "5", minutes_ago=16)
    result = figures.figures_for_accounts([account, other_account], now=NOW)
    assert result[account.pk].is_stale and result[account.pk].data_as_of == NOW - timedelta(minutes=16)
    assert result[other_account.pk].is_stale and result[other_account.pk].balance is None
    balance(account, "5", minutes_ago=14)
    assert not figures.figures_for(account, now=NOW).is_stale


@pytest.mark.parametrize(
    ("duration", "strategy", "expected"),
    [
        ("daily", "fixed", "16"),  # since 00:00 today: hours 00 … 15
        ("weekly", "fixed", "64"),  # since Monday 23rd: 2 × 24 + 16
        ("monthly", "fixed", "592"),  # since the 1st: 24 × 24 + 16
        ("daily", "sliding", "24"),  # the last 24 hours: the buckets starting after 15:30 yesterday
        ("weekly", "sliding", "168"),
        ("monthly", "sliding", "720"),
    ],
)
def test_spend_in_limit_windows_fixed_and_sliding(account, duration, strategy, expected):
    hours(account, MIDNIGHT - 40 * DAY, 40 * 24 + 16)  # $1 an hour up to the current hour

    assert figures.spend_in_limit_window(account, duration, strategy, now=NOW) == Decimal(expected)
    limit(account, "1000", duration, strategy)
    result = figures.figures_for(account, now=NOW)
    assert result.limit_spent == Decimal(expected)
    assert result.limit_used_percent == (Decimal(expected) / 10).quantize(Decimal("0.1"))


def test_fixed_windows_follow_the_configured_time_zone(account, settings):
    settings.TIME_ZONE = "America/New_York"  # UTC-5 in November: local midnight is 05:00 UTC
    hours(account, MIDNIGHT - 2 * DAY, 2 * 24 + 16)

    assert figures.spend_in_limit_window(account, "daily", "fixed", now=NOW) == Decimal("11")  # 05:00 … 15:00
    spend = figures.daily_spend(account, 2, now=NOW)
    assert spend == [(date(2026, 11, 24), Decimal("24")), (date(2026, 11, 25), Decimal("11"))]


def test_whole_days_prefer_day_rows_and_cut_days_without_hours_count_in_proportion(account):
    days(account, MIDNIGHT - 3 * DAY, ["48", "48", "48"])
    hours(account, MIDNIGHT - DAY, 24, value="3")  # yesterday also in hours (72): the day row wins whole
    hours(account, MIDNIGHT, 16, value="2")

    # The last 7 days (sliding) start at 15:30 eight days ago … no rows then; 3 day rows; today's hours.
    assert figures.spend_in_limit_window(account, "weekly", "sliding", now=NOW) == Decimal("176")
    # Two days back from now: the day cut at 15:30 has no hours, so 8.5 of its 24 hours count.
    two_days = figures.usage_for(account.pk, NOW - 2 * DAY, NOW).spend(NOW - 2 * DAY, NOW)
    assert two_days == Decimal("17") + Decimal("48") + Decimal("32")


def test_daily_spend_is_zero_filled_and_peak_is_its_maximum(account):
    days(account, MIDNIGHT - 5 * DAY, ["3", "0", "9"])
    hours(account, MIDNIGHT, 2, value="1.25")

    series = figures.daily_spend(account, 7, now=NOW)

    assert [day for day, _ in series] == [date(2026, 11, 19) + timedelta(days=i) for i in range(7)]
    assert [amount for _, amount in series] == [Decimal(x) for x in ("0", "3", "0", "9", "0", "0", "2.5")]
    assert figures.peak_daily_spend(account, 7, now=NOW) == Decimal("9")
    assert figures.peak_daily_spend(account, 2, now=NOW) == Decimal("2.5")


@pytest.mark.parametrize("count", [2, 20])
def test_figures_for_many_accounts_take_a_constant_number_of_queries(count, django_assert_max_num_queries):
    accounts = []
    for n in range(count):
        account = Account.objects.create(cloudflare_id=f"{n:032x}", name=f"Team {n}")
        days(account, MIDNIGHT - 8 * DAY, ["5"] * 8)
        hours(account, MIDNIGHT - DAY, 40)
        balance(account, "100")
        limit(account, "500", ["daily", "weekly", "monthly"][n % 3], ["fixed", "sliding"][n % 2])
        accounts.append(account)

    with django_assert_max_num_queries(4):
        result = figures.figures_for_accounts(accounts, now=NOW)

    assert len(result) == count
    assert all(f.spend_per_day is not None and f.limit_spent is not None for f in result.values())
    assert result[accounts[0].pk] == figures.figures_for(accounts[0], now=NOW)
