"""The client's GraphQL queries validated with graphql-core against a hand-kept copy of Cloudflare's schema
for the dataset (tests/support/cloudflare_analytics.graphql): a query the real API would refuse fails here."""

from __future__ import annotations

from itertools import combinations

import pytest
from graphql import build_schema, parse, validate

from billing.cloudflare.resources_analytics import (
    DATASET_SETTINGS_QUERY,
    GATEWAY_SPEND_QUERY,
    OPTIONAL_SUMS,
    gateway_spend_query,
    query_field_count,
)
from tests.support.paths import ROOT

SCHEMA = build_schema((ROOT / "tests" / "support" / "cloudflare_analytics.graphql").read_text())


def problems(query: str) -> list[str]:
    return [error.message for error in validate(SCHEMA, parse(query))]


@pytest.mark.parametrize(
    "query",
    [GATEWAY_SPEND_QUERY, gateway_spend_query(()), DATASET_SETTINGS_QUERY],
    ids=["spend", "spend-without-optional-sums", "settings"],
)
def test_the_clients_queries_are_valid_against_cloudflares_schema(query):
    assert problems(query) == []


def test_every_subset_of_the_optional_sums_is_valid_and_counted():
    names = list(OPTIONAL_SUMS)
    for size in (1, 3, 5):
        for sums in combinations(names, size):
            query = gateway_spend_query(sums)
            assert problems(query) == [] and query.count("\n          ") == size + 1  # cost and the sums
            assert query_field_count(sums) == 2 + size + 4


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("cachedTokensIn", "cachedInputTokens"), "Cannot query field 'cachedInputTokens'"),
        (("datetimeHour_ASC", "hour_ASC"), "hour_ASC"),
        (
            ("$limit: uint64!", "$limit: uint64"),
            "Variable '$limit' of type 'uint64' used in position expecting",
        ),
        (("filter: {datetimeHour_geq: $start, datetimeHour_leq: $end}", ""), "filter"),
    ],
    ids=["renamed-sum", "unknown-order", "nullable-limit", "no-filter"],
)
def test_a_query_the_real_api_would_refuse_fails_validation(change, expected):
    old, new = change
    assert old in GATEWAY_SPEND_QUERY
    found = problems(GATEWAY_SPEND_QUERY.replace(old, new))
    assert any(expected in message for message in found), found
