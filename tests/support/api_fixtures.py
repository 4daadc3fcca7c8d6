"""Personal access tokens for the API's tests (registered by tests/conftest.py).

- `make_token(user, days=30, accounts=())` makes a token as the token page does and returns its secret.
- `bearer(secret)` is the test client's keyword for the Authorization header.
- `API_PATHS` every account path of the API, `{account_id}` in place of the account (and `{invoice_id}`,
  `{period}` where a path names one); `TOP_PATHS` the paths of no one account.
- `fill(path, account)` the path for the account, naming the invoice and the period `seed_period` makes
  (seed_history's first invoice, `in_000`).
- `seed_period(account)` a billing period's invoice lines (this month's, two models), as the invoices job
  leaves them.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.api import tokens
from billing.figures.month import month_span
from billing.models import InvoiceLine

API_PATHS = (
    "/api/v1/accounts/{account_id}",
    "/api/v1/accounts/{account_id}/balance",
    "/api/v1/accounts/{account_id}/usage",
    "/api/v1/accounts/{account_id}/spend",
    "/api/v1/accounts/{account_id}/invoices",
    "/api/v1/accounts/{account_id}/invoices/upcoming",
    "/api/v1/accounts/{account_id}/invoices/{invoice_id}",
    "/api/v1/accounts/{account_id}/invoices/usage/{period}",
    "/api/v1/accounts/{account_id}/reconciliation",
    "/api/v1/accounts/{account_id}/statement",
    "/api/v1/accounts/{account_id}/cost-centers",
    "/api/v1/accounts/{account_id}/month",
    "/api/v1/accounts/{account_id}/ledger",
    "/api/v1/accounts/{account_id}/alerts",
)
TOP_PATHS = ("/api/v1/accounts", "/api/v1/totals")
SEEDED_INVOICE = "in_000"


def fill(path: str, account) -> str:
    slug = f"{month_span(timezone.now())[0]:%Y-%m-%d}"
    return path.format(account_id=account.cloudflare_id, invoice_id=SEEDED_INVOICE, period=slug)


def seed_period(account) -> None:
    start, end = month_span(timezone.now())
    for position, (provider, model, amount) in enumerate(
        [("openai", "gpt-4o-mini", "12.50"), ("anthropic", "claude-sonnet-4", "7.25")]
    ):
        InvoiceLine.objects.create(
            account=account,
            period_start=start,
            period_end=end,
            position=position,
            description=f"AI Gateway usage: {provider}/{model}",
            provider=provider,
            model=model,
            amount=Decimal(amount),
            credited=Decimal(amount),
            quantity=Decimal(1),
            synced_at=timezone.now() - timedelta(minutes=5),
        )


@pytest.fixture
def make_token(db):
    def make(user, days: int = 30, accounts=()) -> str:
        return tokens.create(user=user, name="script", days=days, accounts=accounts)[1]

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
