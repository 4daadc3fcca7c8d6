"""Seeds: "empty" (no accounts) and "demo" (four accounts with 90 days of history, one per state to show).

The demo history is produced by the same engine that runs the live sandbox (usage hour by hour, top-ups,
auto top-ups), so invoices, usage and balances agree with each other.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal

from .model import DAY_MS, HOUR_MS, Account, Billing

SEEDS = ("empty", "demo")
HISTORY_DAYS = 90

DEMO_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("1f0e3dad99908345f7439f8ffabdffc4", "Acme Prod"),
    ("2a7d1d8e5f3c4b6a9e0f1d2c3b4a5968", "Acme Staging"),
    ("3c59dc048e8850243be8079a5c74d079", "Labs"),
    ("4e732ced3463d06de0ca9a15b6153677", "Research"),
)

Event = tuple[int, Callable[[Billing, Account, int], None]]


def seed(billing: Billing, name: str) -> None:
    """Fill an empty `billing` with the named seed."""
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}: expected one of {', '.join(SEEDS)}")
    if name == "demo":
        seed_demo(billing)


def _topup(amount: int) -> Callable[[Billing, Account, int], None]:
    def act(billing: Billing, account: Account, t: int) -> None:
        billing.create_topup(account, amount, "manual", t, created_by="dashboard")

    return act


def _auto_config(amount: int, threshold: int) -> Callable[[Billing, Account, int], None]:
    def act(billing: Billing, account: Account, t: int) -> None:
        account.topup_config = {"amount": amount, "threshold": threshold}

    return act


def _at(day: int, hour: int = 10) -> int:
    return day * DAY_MS + hour * HOUR_MS


def _run(
    billing: Billing,
    index: int,
    rate: str,
    card: dict[str, str] | None,
    events: list[Event],
    opening_cents: Decimal = Decimal(0),
) -> Account:
    """Play one account's history from 90 days ago up to `billing.now_ms`."""
    account_id, name = DEMO_ACCOUNTS[index]
    start = (billing.now_ms - HISTORY_DAYS * DAY_MS) // HOUR_MS * HOUR_MS
    account = Account(
        id=account_id,
        name=name,
        created_ms=start,
        balance=opening_cents,
        payment_method=card,
        usage_per_hour=Decimal(rate),
        usage_start_hour=start // HOUR_MS,
        accrued_until_ms=start,
    )
    for offset, action in sorted(events, key=lambda e: e[0]):
        billing.advance_account(account, start + offset)
        action(billing, account, start + offset)
    billing.advance_account(account, billing.now_ms)
    billing.accounts[account_id] = account
    return account


def _run_to_balance(billing: Billing, index: int, target_cents: int, **kwargs) -> Account:
    """Play a history whose final balance is `target_cents` by choosing the opening balance.

    Only for accounts without a successful auto top-up, where the balance never changes what happens.
    """
    trial = _run(billing, index, **kwargs)
    return _run(billing, index, opening_cents=target_cents - trial.balance, **kwargs)


def seed_demo(billing: Billing) -> None:
    visa = {"brand": "visa", "last4": "4242"}
    # Healthy: a card, auto top-up of $1,000 below $500 that has fired several times.
    _run(
        billing,
        0,
        rate="1.60",
        card=visa,
        events=[
            (_at(0, 2), _topup(100_000)),
            (_at(0, 3), _auto_config(100_000, 50_000)),
            (_at(41), _topup(50_000)),
        ],
    )
    # Low and falling: a card but no auto top-up; about two days of credit left.
    _run_to_balance(
        billing,
        1,
        target_cents=420,
        rate="0.09",
        card={"brand": "mastercard", "last4": "4444"},
        events=[(_at(d), _topup(5_000)) for d in (2, 25, 49, 72)],
    )
    # Failing: topped up with one-off cards, then auto top-up turned on without a card on file.
    _run_to_balance(
        billing,
        2,
        target_cents=-135,
        rate="0.40",
        card=None,
        events=[
            *((_at(d), _topup(5_000)) for d in (1, 20, 41, 62, 80)),
            (_at(83), _auto_config(2_000, 1_000)),
        ],
    )
    # Near its cap: a 30-day sliding spending limit set so that 93 % of it is already spent.
    research = _run_to_balance(
        billing,
        3,
        target_cents=31_240,
        rate="0.70",
        card={"brand": "amex", "last4": "0005"},
        events=[*((_at(d), _topup(50_000)) for d in (3, 33, 63)), (_at(85), _topup(30_000))],
    )
    billing.set_spending_limit(research, {"amount": 100, "duration": "monthly", "strategy": "sliding"})
    spent_cents = research.window_spend(billing.now_ms // HOUR_MS) * 100
    cap = (spent_cents / Decimal("93")).quantize(Decimal(1), ROUND_CEILING) * 100
    billing.set_spending_limit(research, {"amount": int(cap), "duration": "monthly", "strategy": "sliding"})
