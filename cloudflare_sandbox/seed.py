"""Seeds: "empty" (no accounts) and "demo" (four accounts with 90 days of history, one per state to show).

The demo history is produced by the same engine that runs the live sandbox (usage hour by hour through each
account's gateways, top-ups, auto top-ups, spend-limit rules), so invoices, usage, balances and analytics
agree with each other.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

from . import spend_rules
from .model import DAY_MS, HOUR_MS, Account, Billing
from .traffic import DEFAULT_CONFIG, DEFAULT_GATEWAY, Gateway, MixEntry

SEEDS = ("empty", "demo")
HISTORY_DAYS = 90

DEMO_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("1f0e3dad99908345f7439f8ffabdffc4", "Acme Prod"),
    ("2a7d1d8e5f3c4b6a9e0f1d2c3b4a5968", "Acme Staging"),
    ("3c59dc048e8850243be8079a5c74d079", "Labs"),
    ("4e732ced3463d06de0ca9a15b6153677", "Research"),
)

Event = tuple[int, Callable[[Billing, Account, int], None]]
# (gateway, provider, model, weight) and the spend-limit rules of gateways that have some.
Mix = list[tuple[str, str, str, str]]
GPT_MINI, GPT_4O = ("openai", "gpt-4o-mini"), ("openai", "gpt-4o")
SONNET, HAIKU = ("anthropic", "claude-sonnet-4"), ("anthropic", "claude-3-5-haiku")
LLAMA, GEMINI = ("workers-ai", "@cf/meta/llama-3.1-8b-instruct"), ("google-ai-studio", "gemini-2.0-flash")


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


def _credit(amount: int) -> Callable[[Billing, Account, int], None]:
    """Credit granted outside any top-up (support, a promotion): no invoice, only a higher balance."""

    def act(billing: Billing, account: Account, t: int) -> None:
        account.balance += amount

    return act


def _auto_config(amount: int, threshold: int) -> Callable[[Billing, Account, int], None]:
    def act(billing: Billing, account: Account, t: int) -> None:
        account.topup_config = {"amount": amount, "threshold": threshold}

    return act


def _mix(*entries: tuple[str, tuple[str, str], str]) -> Mix:
    return [(gateway, provider, model, weight) for gateway, (provider, model), weight in entries]


def _set_traffic(account: Account, mix: Mix, rules: dict[str, list[dict[str, Any]]]) -> None:
    """Give the account a gateway per name in the mix (`default` last) and the rules given."""
    names = sorted({g for g, *_ in mix}, key=lambda g: (g == DEFAULT_GATEWAY, g))
    created = account.created_ms
    account.traffic.gateways = {
        name: Gateway(name, _config(rules.get(name)), created, created, is_default=name == DEFAULT_GATEWAY)
        for name in names
    }
    account.traffic.mix = [MixEntry(g, p, m, Decimal(w)) for g, p, m, w in mix]


def _config(rules: list[dict[str, Any]] | None) -> dict[str, Any]:
    if not rules:
        return dict(DEFAULT_CONFIG)
    return {**DEFAULT_CONFIG, "spend_limits": {"enabled": True, "rules": rules}}


def _at(day: int, hour: int = 10) -> int:
    return day * DAY_MS + hour * HOUR_MS


def _run(
    billing: Billing,
    index: int,
    rate: str,
    card: dict[str, str] | None,
    events: list[Event],
    mix: Mix,
    rules: dict[str, list[dict[str, Any]]] | None = None,
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
    _set_traffic(account, mix, rules or {})
    for offset, action in sorted(events, key=lambda e: e[0]):
        billing.advance_account(account, start + offset)
        action(billing, account, start + offset)
    billing.advance_account(account, billing.now_ms)
    billing.accounts[account_id] = account
    return account


def _run_to_balance(billing: Billing, index: int, target_cents: int, **kwargs: Any) -> Account:
    """Play a history whose final balance is `target_cents` by choosing the opening balance.

    Only for accounts without a successful auto top-up, where the balance never changes what happens.
    """
    trial = _run(billing, index, **kwargs)
    return _run(billing, index, opening_cents=target_cents - trial.balance, **kwargs)


def seed_demo(billing: Billing) -> None:
    _seed_prod_and_staging(billing)
    _seed_labs_and_research(billing)


def _seed_prod_and_staging(billing: Billing) -> None:
    visa = {"brand": "visa", "last4": "4242"}
    # Healthy: a card, auto top-up of $1,000 below $500 that has fired several times; its chat app is near
    # a weekly spend-limit rule (set below).
    prod = _run(
        billing,
        0,
        rate="1.60",
        card=visa,
        events=[
            (_at(0, 2), _topup(100_000)),
            (_at(0, 3), _auto_config(100_000, 50_000)),
            (_at(41), _topup(50_000)),
        ],
        mix=_mix(
            ("chat-app", GPT_MINI, "30"),
            ("chat-app", SONNET, "25"),
            ("batch-jobs", GPT_4O, "20"),
            ("batch-jobs", LLAMA, "15"),
            (DEFAULT_GATEWAY, GPT_MINI, "10"),
        ),
    )
    # Low and falling: a card but no auto top-up; about two days of credit left.
    _run_to_balance(
        billing,
        1,
        target_cents=420,
        rate="0.09",
        card={"brand": "mastercard", "last4": "4444"},
        # Ten days ago, $25 of credit from Cloudflare's support: the ledger's "credit from elsewhere".
        events=[*((_at(d), _topup(5_000)) for d in (2, 25, 49, 72)), (_at(80, 14), _credit(2_500))],
        mix=_mix(("staging", GPT_MINI, "70"), ("staging", HAIKU, "20"), (DEFAULT_GATEWAY, LLAMA, "10")),
    )
    _near_limit(billing, prod, "chat-app", _rule("chat-weekly", "1", 7 * 86_400, "sliding"), Decimal("0.85"))


def _seed_labs_and_research(billing: Billing) -> None:
    # Failing: topped up with one-off cards, then auto top-up turned on without a card on file. Its
    # experiments gateway caps Claude Sonnet at $2 a day (sliding) and has been refusing requests all along.
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
        mix=_mix(
            ("experiments", SONNET, "35"), ("experiments", GEMINI, "25"), (DEFAULT_GATEWAY, LLAMA, "40")
        ),
        rules={"experiments": [_rule("sonnet-daily", "2", 86_400, "sliding", model="claude-sonnet-4")]},
    )
    # Near its cap: a 30-day sliding spending limit set so that 93 % of it is already spent.
    research = _run_to_balance(
        billing,
        3,
        target_cents=31_240,
        rate="0.70",
        card={"brand": "amex", "last4": "0005"},
        events=[*((_at(d), _topup(50_000)) for d in (3, 33, 63)), (_at(85), _topup(30_000))],
        mix=_mix(
            ("eval-harness", GPT_4O, "50"), ("eval-harness", SONNET, "30"), (DEFAULT_GATEWAY, LLAMA, "20")
        ),
        rules={"eval-harness": [_rule("eval-daily", "40", 86_400, "fixed")]},
    )
    billing.set_spending_limit(research, {"amount": 100, "duration": "monthly", "strategy": "sliding"})
    spent_cents = research.window_spend(billing.now_ms // HOUR_MS) * 100
    cap = (spent_cents / Decimal("93")).quantize(Decimal(1), ROUND_CEILING) * 100
    billing.set_spending_limit(research, {"amount": int(cap), "duration": "monthly", "strategy": "sliding"})


def _rule(rule_id: str, limit: str, window: int, technique: str, model: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": rule_id,
        "limit": Decimal(limit),
        "limitType": "cost",
        "window": window,
        "technique": technique,
        "enabled": True,
    }
    if model:
        rule["model"] = {"mode": "filter", "values": [model]}
    return rule


def _near_limit(
    billing: Billing, account: Account, gateway_id: str, rule: dict[str, Any], share: Decimal
) -> None:
    """Put `rule` on the gateway with its limit set so that `share` of it is already spent."""
    now = billing.now_ms
    spent = spend_rules.window_spend(account.traffic, gateway_id, rule, now, now)
    rule = {**rule, "limit": (spent / share).quantize(Decimal("0.01"), ROUND_CEILING)}
    gateway = account.traffic.gateways[gateway_id]
    gateway.config = {**gateway.config, "spend_limits": {"enabled": True, "rules": [rule]}}
