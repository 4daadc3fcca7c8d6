"""A month whose usage invoice is itemised by model (Cloudflare's since 2026-09-01), synced for real.

`itemised_month` (fixture): the sandbox reset at ITEMISED_START (Oct 9, 2026, 00:00 UTC), the portal's
`account` on it with $1,000 of credit, two gateways carrying three models (one model on both), and 40 hours
of usage at $2 an hour; the portal's clock moved with the sandbox's, then the invoices job and the
analytics job run. Yields the time_machine traveller (its clock sits on the sandbox's).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from billing import sync
from tests.support.sandbox_fixtures import fund

ITEMISED_START = datetime(2026, 10, 9, tzinfo=UTC)
HOURS = 40
MIX = [
    ("chat-app", "openai", "gpt-4o-mini", 3),
    ("chat-app", "anthropic", "claude-sonnet-4", 2),
    ("batch-jobs", "openai", "gpt-4o-mini", 2),
    ("batch-jobs", "workers-ai", "@cf/meta/llama-3.1-8b-instruct", 1),
]
MODELS = {"openai/gpt-4o-mini", "anthropic/claude-sonnet-4", "workers-ai/@cf/meta/llama-3.1-8b-instruct"}


def run_usage(cloudflare, traveller, account, hours: int) -> None:
    """Moves both clocks on by `hours` and runs the invoices and analytics jobs."""
    cloudflare.advance(hours * 3600)
    traveller.move_to(datetime.fromtimestamp(cloudflare.clock()["now_ms"] / 1000, UTC))
    sync.sync_invoices(account)
    sync.sync_gateway_spend(account)


@pytest.fixture
def itemised_month(cloudflare, account) -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(ITEMISED_START, tick=False) as traveller:
        cloudflare.reset("empty")
        fund(cloudflare, account)
        cloudflare.put_account(account.cloudflare_id, balance=100_000, usage_per_hour=2, usage_rhythm=False)
        cloudflare.put_gateways(
            account.cloudflare_id,
            gateways=[{"id": "chat-app"}, {"id": "batch-jobs"}],
            mix=MIX,
        )
        run_usage(cloudflare, traveller, account, HOURS)
        yield traveller
