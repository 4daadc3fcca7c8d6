"""Personal access tokens for the API's tests (registered by tests/conftest.py).

- `make_token(user, days=30, accounts=())` makes a token as the token page does and returns its secret.
- `bearer(secret)` is the test client's keyword for the Authorization header.
- `API_PATHS` every account path of the API, `{account_id}` in place of the account.
"""

import pytest

from billing.api import tokens

API_PATHS = (
    "/api/v1/accounts/{account_id}",
    "/api/v1/accounts/{account_id}/balance",
    "/api/v1/accounts/{account_id}/usage",
    "/api/v1/accounts/{account_id}/spend",
    "/api/v1/accounts/{account_id}/invoices",
    "/api/v1/accounts/{account_id}/invoices/upcoming",
    "/api/v1/accounts/{account_id}/alerts",
)


@pytest.fixture
def make_token(db):
    def make(user, days: int = 30, accounts=()) -> str:
        return tokens.create(user=user, name="script", days=days, accounts=accounts)[1]

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
