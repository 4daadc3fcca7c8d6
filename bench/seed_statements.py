"""The page benchmark's usage invoices and cost centers: per account, this month's usage invoice with one line
per model of the gateway tables (30 lines), as the invoices job keeps them, and two cost centers (one of two
gateways, one of a gateway narrowed to a provider), so the reconciliation and the statement have work."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal


def seed_statements(ids: list[int], now: datetime, seed: int) -> dict[str, int]:
    from bench.seed_gateways import MODELS, PROVIDERS
    from billing import models as m

    rng = random.Random(seed + 7)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    lines = [
        m.InvoiceLine(
            account_id=pk,
            invoice_ref=f"upcoming_{pk}",
            period_start=start,
            period_end=end,
            position=position,
            description=f"AI Gateway usage: provider-{p}/model-{model}",
            provider=f"provider-{p}",
            model=f"model-{model}",
            amount=Decimal(rng.randint(100, 900_000)) / 100,
            credited=Decimal(0),
            quantity=Decimal(1),
            synced_at=now,
        )
        for pk in ids
        for position, (model, p) in enumerate((mm, pp) for mm in range(MODELS) for pp in range(PROVIDERS))
    ]
    m.InvoiceLine.objects.bulk_create(lines, batch_size=1000)
    centers = [
        center
        for pk in ids
        for center in (
            m.CostCenter(account_id=pk, name="Support", gateways=["gw-0", "gw-1"]),
            m.CostCenter(account_id=pk, name="Data", gateways=["gw-2"], only_providers=["provider-0"]),
        )
    ]
    m.CostCenter.objects.bulk_create(centers, batch_size=1000)
    return {"invoice_lines": len(lines), "cost_centers": len(centers)}
