"""What the sync, pipeline and top-up reconciliation tests share: accounts in the sandbox, one thread."""

import pytest

from billing.models import Account
from cloudflare_sandbox.seed import DEMO_ACCOUNTS

VISA = {"brand": "visa", "last4": "4242"}
ACME_PROD = DEMO_ACCOUNTS[0][0]


@pytest.fixture(autouse=True)
def _one_thread(settings):
    # Threads would use their own database connections, which cannot see this test's transaction.
    settings.SYNC_THREADS = 1


def api_calls(cloudflare, contains: str = "") -> list[dict]:
    return [r for r in cloudflare.requests() if contains in r["path"]]


def make_account(cloudflare, number: int, **remote) -> Account:
    cloudflare_id = f"{number:032x}"
    if remote is not None:
        cloudflare.put_account(cloudflare_id, name=f"Team {number}", **remote)
    return Account.objects.create(cloudflare_id=cloudflare_id, name=f"Team {number}")


def demo_account(cloudflare) -> Account:
    cloudflare.reset("demo")
    return Account.objects.create(cloudflare_id=ACME_PROD, name="Acme Prod")
