"""``client.analytics``: spend by gateway, model and provider from Cloudflare's GraphQL analytics API, and the
dataset's limits (its ``settings`` node).

The queries are reads, so they are retried like the REST reads (429 with retry-after, 5xx, lost answers).
Their answer is GraphQL's ``{data, errors}``, read by ``billing.cloudflare.graphql``. The spend query is built
from its fields: ``count``, ``cost`` and the dimensions are what the portal cannot do without; the other sums
(``OPTIONAL_SUMS``) may be left out, so that a query Cloudflare refuses for one unknown field can be asked
again without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from billing.cloudflare.client import Transport
from billing.cloudflare.operation import ANALYTICS_READ_PERMISSION, Operation
from billing.cloudflare.results import DatasetSettings, SpendGroup
from billing.cloudflare.results.analytics import dataset_settings, spend_groups

__all__ = [
    "DATASET",
    "DATASET_SETTINGS_QUERY",
    "DIMENSIONS",
    "GATEWAY_SPEND_QUERY",
    "MAX_GROUPS",
    "OPTIONAL_SUMS",
    "AnalyticsResource",
    "gateway_spend_query",
    "query_field_count",
]

DATASET = "aiGatewayRequestsAdaptiveGroups"
# The most groups one query of an adaptive dataset may ask for (the settings' maxPageSize may say fewer).
MAX_GROUPS = 10_000
DIMENSIONS = ("gateway", "model", "provider", "datetimeHour")
# Sums the portal shows but can do without (the wire name -> SpendGroup's attribute), in the query's order.
OPTIONAL_SUMS = {
    "uncachedTokensIn": "tokens_in",
    "uncachedTokensOut": "tokens_out",
    "cachedTokensIn": "cached_tokens_in",
    "cachedTokensOut": "cached_tokens_out",
    "cachedRequests": "cached_requests",
    "erroredRequests": "errored_requests",
}


def gateway_spend_query(sums: Iterable[str] = OPTIONAL_SUMS) -> str:
    """The spend query asking for ``count``, ``cost``, the dimensions and these optional ``sums`` (wire
    names, a subset of OPTIONAL_SUMS). Raises ValueError for another name."""
    chosen = [name for name in OPTIONAL_SUMS if name in set(sums)]
    unknown = set(sums) - set(OPTIONAL_SUMS)
    if unknown:
        raise ValueError(f"not optional sums of the spend query: {', '.join(sorted(unknown))}")
    lines = "\n".join(f"          {name}" for name in ["cost", *chosen])
    return f"""
query GatewaySpend($accountId: string!, $start: Time!, $end: Time!, $limit: uint64!) {{
  viewer {{
    accounts(filter: {{accountTag: $accountId}}) {{
      groups: {DATASET}(
        limit: $limit
        filter: {{datetimeHour_geq: $start, datetimeHour_leq: $end}}
        orderBy: [datetimeHour_ASC]
      ) {{
        count
        sum {{
{lines}
        }}
        dimensions {{ {" ".join(DIMENSIONS)} }}
      }}
    }}
  }}
}}
""".strip()


def query_field_count(sums: Iterable[str] = OPTIONAL_SUMS) -> int:
    """How many fields the spend query with these optional sums asks for, as the dataset's
    maxNumberOfFields counts them (every leaf: count, each sum, each dimension)."""
    return 1 + 1 + len(set(sums)) + len(DIMENSIONS)


GATEWAY_SPEND_QUERY = gateway_spend_query()

DATASET_SETTINGS_QUERY = f"""
query DatasetSettings($accountId: string!) {{
  viewer {{
    accounts(filter: {{accountTag: $accountId}}) {{
      settings {{
        {DATASET} {{
          enabled
          maxDuration
          maxNumberOfFields
          maxPageSize
          notOlderThan
          availableFields
        }}
      }}
    }}
  }}
}}
""".strip()

_GATEWAY_SPEND = Operation(
    "analytics.gateway_spend",
    "POST",
    "/graphql",
    spend_groups,
    reads="graphql",
    needs=ANALYTICS_READ_PERMISSION,
)
_DATASET_SETTINGS = Operation(
    "analytics.dataset_settings",
    "POST",
    "/graphql",
    dataset_settings,
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
        self,
        *,
        account_id: str,
        start: datetime,
        end: datetime,
        limit: int = MAX_GROUPS,
        sums: Iterable[str] = OPTIONAL_SUMS,
    ) -> tuple[SpendGroup, ...]:
        """Hourly groups (hour, gateway, model, provider) from ``start`` to ``end`` inclusive, oldest first,
        at most ``limit`` of them (as many as ``limit`` means there may be more: ask for a shorter span).
        Only the optional ``sums`` named are asked for; the others read 0 in the groups. Raises
        GraphQLPermissionError when the token lacks "Account Analytics: Read", GraphQLError for other query
        errors (``unknown_fields`` names a field Cloudflare does not know), and the REST calls'
        CloudflareErrors otherwise."""
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
        body = {"query": gateway_spend_query(tuple(sums)), "variables": variables}
        return self._client._call(_GATEWAY_SPEND, account_id, body=body)

    def dataset_settings(self, *, account_id: str) -> DatasetSettings | None:
        """The spend dataset's limits for this token and account (None when Cloudflare answers no settings
        for it). Raises as ``gateway_spend`` does."""
        body = {"query": DATASET_SETTINGS_QUERY, "variables": {"accountId": account_id}}
        return self._client._call(_DATASET_SETTINGS, account_id, body=body)
