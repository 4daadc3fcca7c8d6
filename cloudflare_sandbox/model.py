"""The simulated billing world: accounts, hourly usage, top-ups, invoices and the spending limit.

Time is simulated and kept as integer Unix milliseconds. The world is advanced lazily: each request moves it
to "now", accruing usage hour by hour, completing top-ups whose delay has passed and firing auto top-ups.
Money is exact: usage is Decimal dollars rounded to micro-dollars, the balance is Decimal cents, request
amounts and invoices are integer cents.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from . import spend_rules
from .traffic import Traffic, allocate

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MICRO = Decimal("0.000001")
ZERO = Decimal(0)

TOPUP_MIN_CENTS = 1000
TOPUP_MAX_CENTS = 100_000
AUTO_TOPUP_THRESHOLD_MIN_CENTS = 500
SPENDING_LIMIT_MIN_CENTS = 100
DURATIONS = ("daily", "weekly", "monthly")
STRATEGIES = ("fixed", "sliding")
SLIDING_HOURS = {"daily": 24, "weekly": 7 * 24, "monthly": 30 * 24}

# Share of a mean hour's usage by UTC hour of day (sums to 24) and by weekday, Monday first (sums to 7):
# quiet nights, a working-day peak, quieter weekends.
DAILY_PROFILE = tuple(
    Decimal(x)
    for x in (
        "0.40",
        "0.35",
        "0.30",
        "0.30",
        "0.35",
        "0.45",
        "0.60",
        "0.85",
        "1.10",
        "1.40",
        "1.60",
        "1.70",
        "1.75",
        "1.75",
        "1.70",
        "1.60",
        "1.50",
        "1.35",
        "1.20",
        "1.05",
        "0.90",
        "0.70",
        "0.60",
        "0.50",
    )
)
WEEKLY_PROFILE = tuple(Decimal(x) for x in ("1.10", "1.15", "1.15", "1.10", "1.05", "0.75", "0.70"))

NO_CARD_ERROR = "No default payment method: the auto top-up could not be charged"
NO_CARD_REASON = "no_payment_method"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def ms_to_seconds(ms: int) -> int:
    return ms // 1000


def month_start_hour(hour: int) -> int:
    """Return the epoch-hour index of 00:00 UTC on the first day of the month containing `hour`."""
    dt = datetime.fromtimestamp(hour * 3600, UTC)
    return int(dt.replace(day=1, hour=0).timestamp()) // 3600


def next_month_start_hour(hour: int) -> int:
    dt = datetime.fromtimestamp(month_start_hour(hour) * 3600, UTC)
    nxt = dt.replace(year=dt.year + 1, month=1) if dt.month == 12 else dt.replace(month=dt.month + 1)
    return int(nxt.timestamp()) // 3600


def window_start_hour(limit: dict[str, Any], hour: int) -> int:
    """First hour counted by a spending limit's window that contains `hour`."""
    duration = limit["duration"]
    if limit["strategy"] == "sliding":
        return hour - SLIDING_HOURS[duration] + 1
    if duration == "daily":
        return hour - hour % 24
    if duration == "weekly":
        day = hour // 24
        return (day - (day + 3) % 7) * 24  # 1970-01-01 was a Thursday
    return month_start_hour(hour)


@dataclass
class TopUp:
    payment_intent_id: str
    invoice_id: str
    amount: int
    origin: str  # "manual" | "auto"
    created_ms: int
    complete_at_ms: int
    status: str = "pending"
    completed_ms: int | None = None


@dataclass
class Invoice:
    id: str
    origin: str  # "manual" | "auto"; also the invoice-history `type` filter
    amount_due: int
    created_ms: int
    description: str
    created_by: str
    status: str = "open"
    amount_paid: int = 0
    topup_id: str | None = None


@dataclass
class Account:
    id: str
    name: str
    created_ms: int
    balance: Decimal = ZERO  # cents, may be negative
    payment_method: dict[str, str] | None = None
    first_topup_success: bool = False
    usage_per_hour: Decimal = ZERO  # mean dollars per hour
    usage_rhythm: bool = True
    # Hours before usage shows in usage-history (Cloudflare meters after the fact, with a lag it does not
    # state): the balance pays for usage at once, the history reports it this much later.
    usage_delay_hours: int = 0
    usage_delay_floor_hour: int = 0  # hours up to this one were reported before the delay: they stay reported
    topup_config: dict[str, int] | None = None
    topup_error: str | None = None
    topup_disabled_reason: str | None = None
    topup_last_failed_at: int | None = None  # Unix seconds
    spending_limit: dict[str, Any] | None = None
    usage_start_hour: int = 0
    usage: list[Decimal] = field(default_factory=list)  # dollars per epoch hour from usage_start_hour
    accrued_until_ms: int = 0
    # Balance in cents at each epoch-hour boundary from balance_start_hour, as the engine passed it. Not in
    # Cloudflare's API: the control API serves it so the demo can draw a balance chart from day one.
    balance_start_hour: int = 0
    balance_history: list[Decimal] = field(default_factory=list)
    topups: dict[str, TopUp] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)
    # (first hour of the limit window, dollars spent from it to the newest bucket): a cache, never persisted.
    window_cache: tuple[int, Decimal] | None = field(default=None, repr=False)
    # Gateways, the traffic mix and where each hour's usage went; the default gateway unless given.
    traffic: Traffic = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.traffic is None:
            self.traffic = Traffic.default(self.usage_start_hour, self.created_ms)

    def hourly_amount(self, hour: int) -> Decimal:
        """Usage in dollars for a whole epoch hour, following the daily and weekly rhythm."""
        if not self.usage_per_hour:
            return ZERO
        if not self.usage_rhythm:
            return self.usage_per_hour
        digest = hashlib.blake2b(f"{self.id}:{hour}".encode(), digest_size=4).digest()
        noise = Decimal(850_000 + int.from_bytes(digest, "big") % 300_001) / 1_000_000
        weekday = (hour // 24 + 3) % 7
        rate = self.usage_per_hour * DAILY_PROFILE[hour % 24] * WEEKLY_PROFILE[weekday] * noise
        return rate.quantize(MICRO)

    def bucket(self, hour: int) -> int:
        """Index of `hour` in `usage`, growing the list with empty hours as needed."""
        index = hour - self.usage_start_hour
        missing = index + 1 - len(self.usage)
        if missing > 0:
            self.usage.extend([ZERO] * missing)
        return index

    def record_balance(self, hour: int) -> None:
        """Note the balance at the start of epoch hour `hour`; a later note for the same hour replaces it."""
        if not self.balance_history:
            self.balance_start_hour = hour
        index = hour - self.balance_start_hour
        if index < 0:
            return
        if index < len(self.balance_history):
            self.balance_history[index] = self.balance
            return
        if index > len(self.balance_history):
            # The engine passes every boundary, so only an old state file leaves a gap: repeat the last value.
            self.balance_history.extend([self.balance_history[-1]] * (index - len(self.balance_history)))
        self.balance_history.append(self.balance)

    def last_reported_hour(self) -> int:
        """The newest epoch hour usage-history reports: the current one, or with `usage_delay_hours` the last
        that ended that long ago (never one reported before the delay was set)."""
        if not self.usage_delay_hours:
            return self.usage_start_hour + len(self.usage) - 1
        ended = self.accrued_until_ms // HOUR_MS - self.usage_delay_hours - 1
        return max(self.usage_delay_floor_hour, ended)

    def pending_topups(self) -> list[TopUp]:
        return [t for t in self.topups.values() if t.status == "pending"]

    def window_spend(self, hour: int) -> Decimal:
        """Dollars spent in the spending-limit window containing `hour` (kept incrementally)."""
        assert self.spending_limit is not None
        lo = window_start_hour(self.spending_limit, hour)
        start = self.usage_start_hour
        cache = self.window_cache
        if cache is None or lo < cache[0]:
            spent = sum(self.usage[max(0, lo - start) :], ZERO)
        else:
            spent = cache[1]
            for value in self.usage[max(0, cache[0] - start) : max(0, lo - start)]:
                spent -= value
        self.window_cache = (lo, spent)
        return spent

    def limit_reached(self, hour: int) -> bool:
        if not self.spending_limit:
            return False
        return self.window_spend(hour) * 100 >= self.spending_limit["amount"]


class Billing:
    """All accounts plus the simulated instant they have been advanced to."""

    def __init__(self, now_ms: int, topup_delay_ms: int = 5000, fee_percent: Decimal = Decimal(5)) -> None:
        self.now_ms = now_ms
        self.topup_delay_ms = topup_delay_ms
        self.fee_percent = fee_percent
        self.accounts: dict[str, Account] = {}

    # -- accounts ---------------------------------------------------------------------------------

    def create_account(self, account_id: str, name: str | None = None) -> Account:
        start = self.now_ms
        account = Account(
            id=account_id,
            name=name or f"Account {account_id[:6]}",
            created_ms=start,
            usage_start_hour=start // HOUR_MS,
            accrued_until_ms=start,
            balance_start_hour=-(-start // HOUR_MS),  # the first boundary it will pass
        )
        self.accounts[account_id] = account
        return account

    # -- time -------------------------------------------------------------------------------------

    def move_clock(self, now_ms: int) -> None:
        """Move the world's clock to `now_ms` (never backwards); each account catches up when it is read
        (`account`). Accounts never touch one another, so advancing one alone gives the same figures as
        advancing all, and an API request costs one account's work rather than every account's."""
        self.now_ms = max(now_ms, self.now_ms)

    def account(self, account_id: str) -> Account | None:
        """The account, brought up to the world's clock; None when there is none."""
        account = self.accounts.get(account_id)
        if account is not None:
            self.advance_account(account, self.now_ms)
        return account

    def advance_to(self, now_ms: int) -> None:
        """Bring every account up to `now_ms` (never backwards)."""
        now_ms = max(now_ms, self.now_ms)
        for account in self.accounts.values():
            self.advance_account(account, now_ms)
        self.now_ms = now_ms

    def advance_account(self, account: Account, end_ms: int) -> None:
        t = account.accrued_until_ms
        while True:
            self._settle(account, t)
            if t % HOUR_MS == 0:  # every hour boundary is a segment end, so none is skipped
                account.record_balance(t // HOUR_MS)
            if t >= end_ms:
                break
            hour = t // HOUR_MS
            seg_end = min((hour + 1) * HOUR_MS, end_ms)
            for topup in account.pending_topups():
                seg_end = min(seg_end, max(topup.complete_at_ms, t + 1))
            crossing = self._threshold_crossing(account, hour, t)
            if crossing is not None:
                seg_end = min(seg_end, crossing)
            boundary = spend_rules.next_boundary(account.traffic, t)
            if boundary is not None:
                seg_end = min(seg_end, boundary)
            self._accrue(account, hour, t, seg_end)
            t = seg_end
        account.accrued_until_ms = max(account.accrued_until_ms, end_ms)

    def _threshold_crossing(self, account: Account, hour: int, t: int) -> int | None:
        """The instant usage at this hour's rate takes the balance below the auto top-up threshold."""
        config = account.topup_config
        if not config or account.topup_disabled_reason or account.balance < config["threshold"]:
            return None
        rate_cents = account.hourly_amount(hour) * 100
        if not rate_cents:
            return None
        # At least a minute ahead: shorter steps accrue amounts that round to zero and would never get there.
        return t + max(60_000, int((account.balance - config["threshold"]) * HOUR_MS / rate_cents) + 1)

    def _accrue(self, account: Account, hour: int, t0: int, t1: int) -> None:
        index = account.bucket(hour)
        rate = account.hourly_amount(hour)
        if not rate:
            return
        demand = (rate * (t1 - t0) / HOUR_MS).quantize(MICRO)
        # The gateways' spend-limit rules refuse some of it first, then the account's spending limit.
        shares = account.traffic.split(hour, demand)
        billed, refusals = spend_rules.admit(account.traffic, t0, t1, shares)
        amount = sum((dollars for _, dollars in billed), ZERO)
        limit = account.spending_limit
        if limit:
            room = Decimal(limit["amount"]) / 100 - account.window_spend(hour)
            if amount > room:
                amount = max(ZERO, room).quantize(MICRO, ROUND_DOWN)
                billed = allocate(amount, billed)
        spend_rules.commit(account.traffic, index, t1, shares, billed, refusals)
        if limit and room <= 0:
            return
        account.usage[index] += amount
        account.balance -= amount * 100
        if account.window_cache is not None:
            lo, spent = account.window_cache
            account.window_cache = (lo, spent + amount)

    def _settle(self, account: Account, t: int) -> None:
        for topup in account.pending_topups():
            if topup.complete_at_ms <= t:
                self._complete(account, topup, t)
        self._maybe_auto_topup(account, t)

    # -- top-ups ----------------------------------------------------------------------------------------

    def fee_for(self, amount: int) -> int:
        return int((Decimal(amount) * self.fee_percent / 100).quantize(Decimal(1), ROUND_HALF_UP))

    def create_topup(self, account: Account, amount: int, origin: str, at_ms: int, created_by: str) -> TopUp:
        """Open an invoice and a pending top-up; the credit arrives when the top-up completes."""
        fee = self.fee_for(amount)
        invoice = Invoice(
            id=new_id("in"),
            origin=origin,
            amount_due=amount + fee,
            created_ms=at_ms,
            description=(
                f"AI Gateway credits ${Decimal(amount) / 100:,.2f}"
                if origin == "manual"
                else f"AI Gateway auto top-up ${Decimal(amount) / 100:,.2f}"
            ),
            created_by=created_by,
        )
        topup = TopUp(
            # Cloudflare's `payment_intent_id` is the Stripe invoice id (`in_…`), not a payment intent's.
            payment_intent_id=invoice.id,
            invoice_id=invoice.id,
            amount=amount,
            origin=origin,
            created_ms=at_ms,
            complete_at_ms=at_ms + self.topup_delay_ms,
        )
        invoice.topup_id = topup.payment_intent_id
        account.invoices.append(invoice)
        account.topups[topup.payment_intent_id] = topup
        if topup.complete_at_ms <= at_ms:
            self._complete(account, topup, at_ms)
        return topup

    def _complete(self, account: Account, topup: TopUp, at_ms: int) -> None:
        topup.status = "completed"
        topup.completed_ms = at_ms
        account.balance += topup.amount
        account.first_topup_success = True
        for invoice in account.invoices:
            if invoice.id == topup.invoice_id:
                invoice.status = "paid"
                invoice.amount_paid = invoice.amount_due

    def _maybe_auto_topup(self, account: Account, t: int) -> None:
        config = account.topup_config
        if not config or account.topup_disabled_reason or account.balance >= config["threshold"]:
            return
        if any(p.origin == "auto" for p in account.pending_topups()):
            return
        if account.payment_method:
            self.create_topup(account, config["amount"], "auto", t, created_by="auto_topup")
        else:
            # Cloudflare turns auto top-up off after a failed charge; setting the config again re-enables it.
            account.topup_error = NO_CARD_ERROR
            account.topup_disabled_reason = NO_CARD_REASON
            account.topup_last_failed_at = ms_to_seconds(t)

    def find_topup(self, account: Account, ref: str) -> TopUp | None:
        """Find a top-up by its payment intent id or by its invoice id."""
        if ref in account.topups:
            return account.topups[ref]
        return next((t for t in account.topups.values() if t.invoice_id == ref), None)

    # -- settings changed by the API --------------------------------------------------------------

    def set_topup_config(self, account: Account, amount: int, threshold: int) -> None:
        account.topup_config = {"amount": amount, "threshold": threshold}
        account.topup_error = account.topup_disabled_reason = None
        account.topup_last_failed_at = None
        self._maybe_auto_topup(account, self.now_ms)

    def delete_topup_config(self, account: Account) -> None:
        account.topup_config = None
        account.topup_error = account.topup_disabled_reason = None
        account.topup_last_failed_at = None

    def set_spending_limit(self, account: Account, limit: dict[str, Any] | None) -> None:
        account.spending_limit = limit
        account.window_cache = None
