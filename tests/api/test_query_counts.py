"""Queries per API request do not grow with the number of accounts the token reads (the bench measures the
same at 10 and 200 accounts on the seeded database)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.figures import refresh_summaries
from billing.models import Account
from tests.support.api_fixtures import API_PATHS, TOP_PATHS, bearer, fill, seed_period
from tests.support.history import seed_history
from tests.support.people_fixtures import grant

pytestmark = pytest.mark.django_db


def _counts(client, make_user, make_token, size: int) -> dict[str, int]:
    person = make_user(f"finance{size}")
    accounts = []
    for number in range(size):
        account = Account.objects.create(
            cloudflare_id=f"{size:04x}{number:028x}", name=f"Team {size}-{number}"
        )
        grant(person, account, "viewer")
        accounts.append(account)
    seed_history(accounts[0])
    seed_period(accounts[0])
    refresh_summaries(accounts)
    secret = make_token(person)
    counts = {}
    for path in (*TOP_PATHS, *(fill(path, accounts[0]) for path in API_PATHS)):
        assert client.get(path, **bearer(secret)).status_code == 200, path
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path, **bearer(secret)).status_code == 200, path
        counts[path.replace(accounts[0].cloudflare_id, "{account_id}")] = len(captured.captured_queries)
    return counts


def test_queries_per_request_are_equal_at_2_and_12_accounts(client, make_user, make_token):
    few = _counts(client, make_user, make_token, 2)
    many = _counts(client, make_user, make_token, 12)
    assert few == many
    assert len(few) == len(TOP_PATHS) + len(API_PATHS)
