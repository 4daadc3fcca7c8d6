"""Figures of a digest's period: spend over a span (the one rule of `spend.py`) and where the money went (the
gateway analytics by model or by gateway, read over the period as every range of gateway spend is read:
`gateway_spend.spend_over`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from billing.figures.gateway_spend import (
    GatewaySpend,
    History,
    Range,
    hourly_history_start,
    spend_over,
)
from billing.figures.spend import usage_for

# What a digest's "where the money goes" covers: its period is whole local days, so whole hours.
PERIOD_MEANING = "the period's hours, midnight to midnight in the digest's time zone"


def spend_between(account_id: int, start: datetime, end: datetime) -> Decimal:
    """Dollars spent in [start, end) from the usage rows (day rows, hour rows where a day is cut)."""
    return usage_for(account_id, start, end).spend(start, end)


def _period_spend(account_id: int, start: datetime, end: datetime, *fields: str) -> GatewaySpend:
    period = Range(start, end, "the period", PERIOD_MEANING)
    history = History(None, hourly_history_start(timezone.now()))
    return spend_over(account_id, period, *fields, history=history)


def top_spend(account_id: int, start: datetime, end: datetime, by: str, limit: int = 5) -> list[tuple]:
    """[(model or gateway, dollars)] most first, over [start, end); empty when the account has no gateway
    analytics there."""
    if by not in ("model", "gateway"):
        raise ValueError(f"top_spend by {by!r}")
    groups = _period_spend(account_id, start, end, by).groups
    return [(group[by] or "(unknown)", group["total_cost"]) for group in groups if group["total_cost"] > 0][
        :limit
    ]


def analytics_total(account_id: int, start: datetime, end: datetime) -> Decimal:
    """The gateway analytics' dollars over [start, end) (what `top_spend` shares)."""
    return _period_spend(account_id, start, end).total
