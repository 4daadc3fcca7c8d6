"""A gateway spend-limit rule's current window and what it has spent, from local analytics
(GatewaySpendHour).

As Cloudflare evaluates a rule: `fixed` is the block of `window` seconds since the Unix epoch that contains
now (calendar-aligned), `sliding` the `window` seconds up to now. An hour row that the window cuts counts in
proportion to the overlap. The spend is Cloudflare's analytics estimate, and lags by minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.models import Account, GatewaySpendDay, GatewaySpendHour, RuleTechnique

HOUR = timedelta(hours=1)
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class RuleWindow:
    start: datetime
    end: datetime  # now, for spend; `resets_at` is when a fixed window ends
    resets_at: datetime | None
    spend: Decimal


def window_bounds(window_seconds: int, technique: str, now: datetime) -> tuple[datetime, datetime | None]:
    """(start, resets at) of the window containing `now`; a sliding window never resets at once (None)."""
    if technique == RuleTechnique.SLIDING:
        return now - timedelta(seconds=window_seconds), None
    epoch = int(now.timestamp())
    start = epoch - epoch % window_seconds
    return datetime.fromtimestamp(start, tz=UTC), datetime.fromtimestamp(start + window_seconds, tz=UTC)


def rule_window_spend(
    account: Account,
    gateway_id: str,
    *,
    window_seconds: int,
    technique: str,
    models: tuple[str, ...] | list[str] | None,
    providers: tuple[str, ...] | list[str] | None,
    now: datetime,
) -> RuleWindow:
    """What the traffic a rule covers (its gateway, its model and provider filters) spent in its window."""
    start, resets_at = window_bounds(window_seconds, technique or RuleTechnique.FIXED, now)
    rows = GatewaySpendHour.objects.filter(
        account=account, gateway=gateway_id, hour__gt=start - HOUR, hour__lt=now
    )
    if models:
        rows = rows.filter(model__in=list(models))
    if providers:
        rows = rows.filter(provider__in=list(providers))
    spend = Decimal(0)
    for hour, cost in rows.values_list("hour", "cost"):
        overlap = min(hour + HOUR, now) - max(hour, start)
        if overlap >= HOUR:
            spend += cost
        elif overlap.total_seconds() > 0:
            # Spread evenly over its elapsed part, as Cloudflare's own window reading does.
            elapsed = min(hour + HOUR, now) - hour
            spend += cost * Decimal(overlap.total_seconds()) / Decimal(elapsed.total_seconds())
    return RuleWindow(start=start, end=now, resets_at=resets_at, spend=spend.quantize(MICRO))


def seen_models_and_providers(account: Account, gateway_id: str) -> tuple[list[str], list[str]]:
    """The models and providers local analytics have seen on this gateway (hours and days), sorted."""
    found_models: set[str] = set()
    found_providers: set[str] = set()

    for table in (GatewaySpendHour, GatewaySpendDay):
        pairs = table.objects.filter(account=account, gateway=gateway_id).values_list("model", "provider")
        for model, provider in pairs.distinct():
            if model:
                found_models.add(model)
            if provider:
                found_providers.add(provider)
    return sorted(found_models), sorted(found_providers)
