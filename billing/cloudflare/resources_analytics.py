"""``client.analytics``: spend by gateway, model and provider from Cloudflare's GraphQL analytics API.

The query is a read, so it is retried like the REST reads (429 with retry-after, 5xx, lost answers). Its
answer is GraphQL's ``{data, errors}``, read by ``billing.cloudflare.graphql``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billing.cloudflare.client import Transport
from billing.cloudflare.operation import ANALYTICS_READ_PERMISSION, Operation
from billing.cloudflare.results import SpendGroup
from billing.cloudflare.results.analytics import spend_groups

__all__ = ["GATEWAY_SPEND_QUERY", "MAX_GROUPS", "AnalyticsResource"]

# The most groups one query of an adaptive dataset may ask for.
MAX_GROUPS = 10_000

GATEWAY_SPEND_QUERY = """
query GatewaySpend($accountId: string, $start: Time, $end: Time, $limit: uint64) {
  viewer {
    accounts(filter: {accountTag: $accountId}) {
      groups: aiGatewayRequestsAdaptiveGroups(
        limit: $limit
        filter: {datetimeHour_geq: $start, datetimeHour_leq: $end}
        orderBy: [datetimeHour_ASC]
      ) {
        count
        sum {
          cost
          uncachedTokensIn
          uncachedTokensOut
          cachedTokensIn
          cachedTokensOut
          cachedRequests
          erroredRequests
        }
        dimensions { gateway model provider datetimeHour }
      }
    }
  }
}
""".strip()

_GATEWAY_SPEND = Operation(
    "analytics.gateway_spend",
    "POST",
    "/graphql",
    spend_groups,
    reads="graphql",
    needs=ANALYTICS_READ_PERMISSION,
)


def _utc(name: str, value: Any) -> str:
    """An aware datetime as the ISO 8601 UTC text GraphQL's Time takes: "2026-12-01T00:00:00Z"."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnalyticsResource:
    def __init__(self, client: Transport) -> None:
        self._client = client

    def gateway_spend(
        self, *, account_id: str, start: datetime, end: datetime, limit: int = MAX_GROUPS
    ) -> tuple[SpendGroup, ...]:
        """Hourly groups (hour, gateway, model, provider) from ``start`` to ``end`` inclusive, oldest first,
        at most ``limit`` of them (as many as ``limit`` means there may be more: ask for a shorter span).
        Raises GraphQLPermissionError when the token lacks "Account Analytics: Read", GraphQLError for
        other query errors, and the REST calls' CloudflareErrors otherwise."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_GROUPS:
            raise ValueError(f"limit must be an int from 1 to {MAX_GROUPS}")
        variables = {
            "accountId": account_id,
            "start": _utc("start", start),
            "end": _utc("end", end),
            "limit": limit,
        }
        if end < start:
            raise ValueError("end must not be before start")
        body = {"query": GATEWAY_SPEND_QUERY, "variables": variables}
        return self._client._call(_GATEWAY_SPEND, account_id, body=body)
