"""The page benchmark's gateway tables: per account 5 gateways × 10 models × 3 providers, hourly spend for the
hourly history (14 days) and daily rollups for 13 months, one spend-limit rule per gateway (with its window
computed), as the gateways and analytics syncs leave them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from bench.seed_bulk import Loader, micro_text

GATEWAYS = 5
MODELS = 10
PROVIDERS = 3
HOUR_DAYS = 14
DAY_DAYS = 396
SPEND_COLUMNS = [
    "account_id",
    "gateway",
    "model",
    "provider",
    "requests",
    "cost",
    "tokens_in",
    "tokens_out",
    "cached_tokens_in",
    "cached_tokens_out",
    "cached_requests",
    "errored_requests",
    "synced_at",
]


def slices() -> list[tuple[str, str, str]]:
    return [
        (f"gw-{g}", f"model-{m}", f"provider-{p}")
        for g in range(GATEWAYS)
        for m in range(MODELS)
        for p in range(PROVIDERS)
    ]


def _sums(rng: random.Random, scale: int) -> tuple:
    requests = rng.randint(1, 40) * scale
    cost = rng.randint(1_000, 90_000) * scale
    return (requests, micro_text(cost), requests * 900, requests * 300, 0, 0, requests // 10, requests // 100)


def hour_rows(loader: Loader, ids: list[int], now: datetime, seed: int) -> Iterator[tuple]:
    rng = random.Random(seed)
    last = now.replace(minute=0, second=0, microsecond=0)
    first = last.replace(hour=0) - timedelta(days=HOUR_DAYS)
    count = int((last - first) / timedelta(hours=1)) + 1
    hours = loader.grid(first, timedelta(hours=1), count)
    synced = loader.when(now)
    for pk in ids:
        for gateway, model, provider in slices():
            for hour in hours:
                yield (pk, gateway, model, provider, *_sums(rng, 1), synced, hour)


def day_rows(ids: list[int], now: datetime, seed: int) -> Iterator[tuple]:
    rng = random.Random(seed + 1)
    today = now.date()
    days = [(today - timedelta(days=back)).isoformat() for back in range(DAY_DAYS, -1, -1)]
    synced = now.replace(tzinfo=None).isoformat(" ")
    for pk in ids:
        for gateway, model, provider in slices():
            for day in days:
                yield (pk, gateway, model, provider, *_sums(rng, 24), synced, day)


def seed_gateways(loader: Loader, ids: list[int], now: datetime, seed: int) -> dict[str, int]:
    """Gateways, rules (their windows computed) and spend rows for these accounts; returns row counts."""
    from decimal import Decimal

    from billing import models as m
    from billing.figures.rule_windows import refresh_rule_windows

    gateways = [
        m.Gateway(
            account_id=pk, gateway_id=f"gw-{g}", is_default=g == 0, spend_limits_enabled=True, synced_at=now
        )
        for pk in ids
        for g in range(GATEWAYS)
    ]
    m.Gateway.objects.bulk_create(gateways, batch_size=1000)
    rules = [
        m.GatewayRule(
            gateway=gateway, rule_id=f"rule-{gateway.gateway_id}", limit=Decimal(500), window_seconds=86400
        )
        for gateway in m.Gateway.objects.filter(account_id__in=ids)
    ]
    m.GatewayRule.objects.bulk_create(rules, batch_size=1000)
    counts = {
        "gateway_spend_hours": loader.load(
            m.GatewaySpendHour, [*SPEND_COLUMNS, "hour"], hour_rows(loader, ids, now, seed)
        ),
        "gateway_spend_days": loader.load(
            m.GatewaySpendDay, [*SPEND_COLUMNS, "day"], day_rows(ids, now, seed)
        ),
        "gateways": len(gateways),
        "gateway_rules": len(rules),
    }
    for account in m.Account.objects.filter(pk__in=ids):
        refresh_rule_windows(account, now)
    return counts
