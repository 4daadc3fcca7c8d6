"""Figures of a digest's period: spend over a span (the one rule of `spend.py`) and where the money went (the
gateway analytics' daily rollups, by model or by gateway)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum

from billing.figures.spend import usage_for
from billing.models import GatewaySpendDay


def spend_between(account_id: int, start: datetime, end: datetime) -> Decimal:
    """Dollars spent in [start, end) from the usage rows (day rows, hour rows where a day is cut)."""
    return usage_for(account_id, start, end).spend(start, end)


def top_spend(account_id: int, start: datetime, end: datetime, by: str, limit: int = 5) -> list[tuple]:
    """[(model or gateway, dollars)] most first, over the UTC days that [start, end) touches (the analytics
    keep UTC days only), from `GatewaySpendDay`; empty when the account has no gateway analytics."""
    if by not in ("model", "gateway"):
        raise ValueError(f"top_spend by {by!r}")
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    rows = (
        GatewaySpendDay.objects.filter(account_id=account_id, day__gte=first, day__lte=last)
        .values(by)
        .annotate(total=Sum("cost"))
        .filter(total__gt=0)
        .order_by("-total", by)[:limit]
    )
    return [(row[by] or "(unknown)", row["total"]) for row in rows]


def analytics_total(account_id: int, start: datetime, end: datetime) -> Decimal:
    """The gateway analytics' dollars over the UTC days [start, end) touches (what `top_spend` shares)."""
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    rows = GatewaySpendDay.objects.filter(account_id=account_id, day__gte=first, day__lte=last)
    return rows.aggregate(total=Sum("cost"))["total"] or Decimal(0)
