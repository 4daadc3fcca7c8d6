"""The ledger of an account per UTC day: the one place its meaning lives (the page, the CSV, the print view,
the overview's flag and the "ledger does not balance" alert all read the rows this module writes).

For a UTC day D = [00:00, 24:00):
- opening / observed closing: the balance snapshot nearest to 00:00 UTC at the start / end of D, if one was
  taken within READING_REACH of it (the closing of D is the opening of D + 1: the same reading). While D is
  still open, the closing is the newest snapshot.
- credit: what arrived between the two readings, by source: top-ups made in the portal (`TopUp`, completed,
  by payment intent id), top-ups Cloudflare invoiced that the portal did not start (manual invoices, paid),
  auto top-ups (auto invoices, paid, by their invoice id; the credit is the invoice less the purchase fee),
  and credit from elsewhere: when the balance ends higher than everything known explains, the rise is credit
  "with no top-up we know of". A known credit counts on the day of the first reading that shows it (see
  `arrivals`): a top-up asked for at 23:59, or an invoice dated 00:00:00 whose credit lands a few seconds
  later, is credit of the day its balance rose, not of the day before and again as credit from elsewhere.
- billed usage: the day's usage by the one rule of spend (`figures.spend`).
- expected closing = opening + credit − billed usage; difference = observed − expected.

A difference within the allowance (a cent, plus the usage of the minutes between midnight and the readings)
balances. A shortfall is explained while the day is open or not yet settled ("usage not billed yet"); a day
settles LEDGER_SETTLE_HOURS after it ends, and a shortfall still there is unexplained: flagged on the page and
raised as the `ledger_unbalanced` alert.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.figures.spend import Usage, usage_for
from billing.models import (
    Account,
    BalanceSnapshot,
    Invoice,
    InvoiceType,
    LedgerDay,
    LedgerState,
    TopUp,
    TopUpStatus,
)
from billing.money import format_money

ZERO = Decimal(0)
CENT = Decimal("0.01")
DAY = timedelta(days=1)
# A balance read further than this from midnight says too little about the balance at midnight.
READING_REACH = timedelta(hours=2)
# The days the overview's flag and the alert look back over: a month of settled days.
RECENT_DAYS = 31
# The amount columns of a row and of a month, in the order every view shows them.
AMOUNTS = ("opening", "topups", "auto_topups", "other_credit", "usage", "expected", "observed", "difference")
IN_FLIGHT = (TopUpStatus.REQUESTED, TopUpStatus.PENDING, TopUpStatus.UNKNOWN)
# How long after its top-up was asked for (or its invoice dated) a credit is looked for in the readings.
ARRIVAL_REACH = timedelta(hours=2)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def settle_after() -> timedelta:
    return timedelta(hours=settings.LEDGER_SETTLE_HOURS)


@dataclass(frozen=True)
class Credit:
    kind: str  # "topup", "auto_topup", "in_flight" (not counted), "elsewhere"
    ref: str
    amount: Decimal
    at: datetime


@dataclass
class Inputs:
    """An account's local facts over a span of days, read in four queries."""

    readings: list[tuple[datetime, Decimal]]
    credits: list[Credit]
    usage: Usage
    times: list[datetime] = field(init=False)

    def __post_init__(self) -> None:
        self.times = [at for at, _ in self.readings]

    def reading_near(self, moment: datetime) -> tuple[datetime, Decimal] | None:
        """The snapshot nearest to `moment` within READING_REACH (the earlier one on a tie)."""
        index = bisect.bisect_right(self.times, moment)
        near = [self.readings[i] for i in (index - 1, index) if 0 <= i < len(self.readings)]
        near = [r for r in near if abs(r[0] - moment) <= READING_REACH]
        return min(near, key=lambda r: abs(r[0] - moment)) if near else None

    def latest_by(self, moment: datetime) -> tuple[datetime, Decimal] | None:
        index = bisect.bisect_right(self.times, moment)
        return self.readings[index - 1] if index else None


def credit_of_invoice(amount_due: Decimal) -> Decimal:
    """The credit an invoice bought: its amount less the purchase fee (TOPUP_FEE_PERCENT, rounded half up to
    a cent on the credit, as Cloudflare adds it)."""
    rate = 1 + settings.TOPUP_FEE_PERCENT / 100
    cents = (amount_due * 100 / rate).quantize(Decimal(1), ROUND_HALF_UP)
    for candidate in (cents, cents - 1, cents + 1):
        fee = (candidate * settings.TOPUP_FEE_PERCENT / 100).quantize(Decimal(1), ROUND_HALF_UP)
        if candidate + fee == amount_due * 100:
            return candidate / 100
    return cents / 100


def read_inputs(account: Account, first: date, last: date) -> Inputs:
    start, end = midnight(first) - READING_REACH, midnight(last) + DAY + READING_REACH
    readings = list(
        BalanceSnapshot.objects.filter(account=account, taken_at__gte=start, taken_at__lte=end)
        .order_by("taken_at")
        .values_list("taken_at", "balance")
    )
    credits: list[Credit] = []
    portal_ids = set()
    for topup in TopUp.objects.filter(account=account, requested_at__gte=start, requested_at__lte=end):
        portal_ids.add(topup.payment_intent_id)
        amount = Decimal(topup.amount_cents) / 100
        ref = topup.payment_intent_id or f"portal top-up {topup.pk}"
        if topup.status == TopUpStatus.COMPLETED:
            credits.append(Credit("topup", ref, amount, topup.requested_at))
        elif topup.status in IN_FLIGHT:
            credits.append(Credit("in_flight", ref, amount, topup.requested_at))
    invoices = Invoice.objects.filter(account=account, status="paid", created__gte=start, created__lte=end)
    for invoice in invoices.exclude(invoice_id__in=portal_ids):
        kind = "auto_topup" if invoice.invoice_type == InvoiceType.AUTO else "topup"
        assert invoice.created is not None  # the filter on created excludes null
        credits.append(
            Credit(kind, invoice.invoice_id, credit_of_invoice(invoice.amount_due), invoice.created)
        )
    return Inputs(
        readings, arrivals(credits, readings), usage_for(account.pk, midnight(first), midnight(last) + DAY)
    )


def arrivals(credits: list[Credit], readings: list[tuple[datetime, Decimal]]) -> list[Credit]:
    """Each counted credit placed at the first reading that shows it; one that no reading shows keeps its own
    time (its day then shows the shortfall). Readings are `(taken_at, balance)` in time order."""
    times = [at for at, _ in readings]
    steps = {i: readings[i][1] - readings[i - 1][1] for i in range(1, len(readings))}
    placed = []
    for credit in sorted(credits, key=lambda c: c.at):
        shown_at = None if credit.kind == "in_flight" else _reading_showing(credit, times, steps)
        placed.append(
            credit if shown_at is None else Credit(credit.kind, credit.ref, credit.amount, shown_at)
        )
    return placed


def _reading_showing(credit: Credit, times: list[datetime], steps: dict[int, Decimal]) -> datetime | None:
    """From the reading before the credit's time, the first step up between two readings by at least half
    the credit (what a step has left once earlier credits took theirs), starting within ARRIVAL_REACH of the
    credit: the later reading of that step, which it now claims."""
    index = max(bisect.bisect_right(times, credit.at), 1)
    while index < len(times) and times[index - 1] <= credit.at + ARRIVAL_REACH:
        if steps[index] * 2 >= credit.amount:
            steps[index] -= credit.amount
            return times[index]
        index += 1
    return None


def _allowance(usage: Decimal, gap: timedelta) -> Decimal:
    """What reading the balance `gap` away from midnight may leave unexplained: a cent, plus twice the day's
    mean usage over the gap (the hours around midnight may run above the mean)."""
    return CENT + 2 * usage * Decimal(gap.total_seconds()) / Decimal(DAY.total_seconds())


def compute_day(account: Account, day: date, inputs: Inputs, now: datetime) -> LedgerDay:
    """The ledger row of one day (not saved)."""
    start, end = midnight(day), midnight(day) + DAY
    still_open = end > now
    opening = inputs.reading_near(start)
    closing = inputs.latest_by(now) if still_open else inputs.reading_near(end)
    if closing is not None and opening is not None and closing[0] < opening[0]:
        closing = None
    usage = inputs.usage.spend(start, min(end, now))
    row = LedgerDay(
        account=account, day=day, usage=usage, computed_at=now, settled=now >= end + settle_after()
    )
    lo = opening[0] if opening else start
    hi = closing[0] if closing else end
    window = [c for c in inputs.credits if lo < c.at <= hi]
    row.topups = sum((c.amount for c in window if c.kind == "topup"), ZERO)
    row.auto_topups = sum((c.amount for c in window if c.kind == "auto_topup"), ZERO)
    row.sources = [{"kind": c.kind, "ref": c.ref, "amount": str(c.amount)} for c in window]
    if opening is None or closing is None:
        row.state = LedgerState.OPEN if still_open else LedgerState.NO_DATA
        row.reason = "no balance reading within 2 hours of 00:00 UTC" if not still_open else "the day is open"
        row.opening, row.opening_at = opening[1] if opening else None, opening[0] if opening else None
        return row
    row.opening_at, row.opening = opening
    row.observed_at, row.observed = closing
    gap = abs(opening[0] - start) + (abs(closing[0] - end) if not still_open else timedelta())
    _classify(row, window, _allowance(usage, gap), still_open, end)
    return row


def _classify(
    row: LedgerDay, window: list[Credit], allowance: Decimal, still_open: bool, end: datetime
) -> None:
    """Sets credit from elsewhere, the expected closing, the difference, the state and its reason."""
    assert row.opening is not None and row.observed is not None
    known = row.opening + row.topups + row.auto_topups - row.usage
    residual = row.observed - known
    in_flight = [c for c in window if c.kind == "in_flight"]
    if residual > allowance and not in_flight:
        row.other_credit = residual
        row.sources = [*row.sources, {"kind": "elsewhere", "ref": "", "amount": str(residual)}]
    row.expected = known + row.other_credit
    row.difference = row.observed - row.expected
    row.state, row.reason = _verdict(row, residual, allowance, in_flight, still_open, end)


def _verdict(
    row: LedgerDay,
    residual: Decimal,
    allowance: Decimal,
    in_flight: list[Credit],
    still_open: bool,
    end: datetime,
) -> tuple[str, str]:
    assert row.difference is not None
    rose = f"balance rose by {format_money(row.other_credit)} with no top-up we know of"
    if still_open:
        return LedgerState.OPEN, rose if row.other_credit else "the day is still open"
    if row.other_credit:
        return LedgerState.EXPLAINED, rose
    if abs(row.difference) <= allowance:
        return LedgerState.BALANCED, ""
    if residual > 0:
        refs = ", ".join(c.ref for c in in_flight)
        return LedgerState.EXPLAINED, f"a top-up in flight ({refs}) may have arrived before the portal saw it"
    if not row.settled:
        settles = end + settle_after()
        return LedgerState.EXPLAINED, f"usage not billed yet: the day settles at {settles:%Y-%m-%d %H:%M} UTC"
    return (
        LedgerState.UNEXPLAINED,
        f"the balance fell {format_money(-row.difference)} more than the billed usage and credit explain",
    )


def first_day(account: Account) -> date | None:
    first = (
        BalanceSnapshot.objects.filter(account=account)
        .order_by("taken_at")
        .values_list("taken_at", flat=True)
    )
    moment = first.first()
    return None if moment is None else moment.astimezone(UTC).date()


def first_to_build(account: Account, now: datetime) -> date:
    """The first day a rebuild writes: the oldest row not settled when it was written (a gap in the syncs
    leaves some), else the day before the days that may still change; every day since the first snapshot
    for an account with no rows yet."""
    today = now.astimezone(UTC).date()
    recent = (now - settle_after() - DAY).astimezone(UTC).date() - DAY
    rows = LedgerDay.objects.filter(account=account).order_by("day")
    oldest_open = rows.filter(settled=False).values_list("day", flat=True).first()
    if oldest_open is not None:
        return min(oldest_open, recent)
    return recent if rows.exists() else (first_day(account) or today)


def rebuild(account: Account, now: datetime | None = None, since: date | None = None) -> int:
    """Writes the ledger rows from `since` (default: `first_to_build`) to today; returns the count."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    since = since or first_to_build(account, now)
    inputs = read_inputs(account, since, today)
    rows = [compute_day(account, since + DAY * n, inputs, now) for n in range((today - since).days + 1)]
    fields = [f.name for f in LedgerDay._meta.concrete_fields if f.name not in ("id", "account", "day")]
    with transaction.atomic():
        LedgerDay.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["account", "day"], update_fields=fields
        )
    return len(rows)


# --- reading the stored rows: the page, the CSV, the print view, the overview and the alert -----------------
@dataclass
class Month:
    """A calendar UTC month of ledger rows, reconciled over its span: from the first day with an opening
    reading to the last with an observed closing (the whole month once the portal has read it throughout).
    Opening and observed closing are the span's ends, credit and usage its sums, the difference observed less
    expected (the sum of the days' differences when every day has its readings), and `unexplained` counts
    the days that do not balance."""

    first: date
    days: list[LedgerDay]

    @cached_property
    def span(self) -> list[LedgerDay]:
        with_opening = [n for n, d in enumerate(self.days) if d.opening is not None]
        with_closing = [n for n, d in enumerate(self.days) if d.observed is not None]
        if not with_opening or not with_closing or with_closing[-1] < with_opening[0]:
            return []
        return self.days[with_opening[0] : with_closing[-1] + 1]

    @property
    def partial(self) -> bool:
        """Whether the span leaves out days the ledger has rows for (before the first reading)."""
        return len(self.span) != len(self.days)

    def _sum(self, name: str) -> Decimal:
        return sum((getattr(d, name) for d in self.span), ZERO)

    @property
    def opening(self) -> Decimal | None:
        return self.span[0].opening if self.span else None

    @property
    def observed(self) -> Decimal | None:
        return self.span[-1].observed if self.span else None

    @property
    def topups(self) -> Decimal:
        return self._sum("topups")

    @property
    def auto_topups(self) -> Decimal:
        return self._sum("auto_topups")

    @property
    def other_credit(self) -> Decimal:
        return self._sum("other_credit")

    @property
    def usage(self) -> Decimal:
        return self._sum("usage")

    @property
    def credit(self) -> Decimal:
        return self.topups + self.auto_topups + self.other_credit

    @property
    def difference(self) -> Decimal:
        if self.observed is None or self.expected is None:
            return ZERO
        return self.observed - self.expected

    @property
    def expected(self) -> Decimal | None:
        if self.opening is None:
            return None
        return self.opening + self.topups + self.auto_topups + self.other_credit - self.usage

    @property
    def unexplained(self) -> int:
        return sum(1 for d in self.days if d.state == LedgerState.UNEXPLAINED)

    @property
    def state(self) -> str:
        if self.unexplained:
            return LedgerState.UNEXPLAINED
        if any(d.state == LedgerState.OPEN for d in self.days):
            return LedgerState.OPEN
        return LedgerState.BALANCED if self.days else LedgerState.NO_DATA


def month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def months_of(account: Account, today: date, count: int = 13) -> list[Month]:
    """The last `count` calendar UTC months, newest first, down to the oldest that has ledger days (not a
    year of empty months before the portal's first balance reading), from the stored rows (one query)."""
    first = month_start(today, count - 1)
    by_month: dict[date, list[LedgerDay]] = {month_start(today, n): [] for n in range(count)}
    for row in LedgerDay.objects.filter(account=account, day__gte=first).order_by("day"):
        by_month[month_start(row.day)].append(row)
    return _since_first([Month(first, days) for first, days in by_month.items()])


def _since_first(months: list[Month]) -> list[Month]:
    """`months` (newest first) down to the oldest that has ledger days; the newest alone when none has."""
    with_days = [n for n, month in enumerate(months) if month.days]
    return months[: with_days[-1] + 1] if with_days else months[:1]


def days_of(account: Account, month: date) -> Month:
    """One calendar UTC month's stored rows, oldest first (one query)."""
    following = month_start(month, -1)
    rows = LedgerDay.objects.filter(account=account, day__gte=month, day__lt=following).order_by("day")
    return Month(month, list(rows))


def unbalanced_recently(account_ids: list[int], now: datetime) -> dict[int, LedgerDay]:
    """{account pk: its day with the largest unexplained difference among the last RECENT_DAYS} for the
    accounts that have one (one query): what the overview flags and the `ledger_unbalanced` alert reads."""
    since = (now - timedelta(days=RECENT_DAYS)).astimezone(UTC).date()
    worst: dict[int, LedgerDay] = {}
    rows = LedgerDay.objects.filter(account_id__in=account_ids, day__gte=since, state=LedgerState.UNEXPLAINED)
    for row in rows:
        current = worst.get(row.account_id)
        if current is None or abs(row.difference or ZERO) > abs(current.difference or ZERO):
            worst[row.account_id] = row
    return worst
