"""What the sync, pipeline and top-up tests share: accounts in the sandbox, and sync on one thread
(registered by tests/conftest.py)."""

import pytest

from billing.models import Account
from cloudflare_sandbox.seed import DEMO_ACCOUNTS

ACME_PROD = DEMO_ACCOUNTS[0][0]


@pytest.fixture(autouse=True)
def _one_sync_thread(settings):
    # A sync thread would use its own database connection, which cannot see the test's transaction.
    # A test about threads sets SYNC_THREADS itself; workers get theirs from their environment.
    settings.SYNC_THREADS = 1


def make_account(cloudflare, number: int, **remote) -> Account:
    """Team `number`: on Cloudflare with `remote` (balance, payment_method …) and in the portal."""
    cloudflare_id = f"{number:032x}"
    if remote is not None:
        cloudflare.put_account(cloudflare_id, name=f"Team {number}", **remote)
    return Account.objects.create(cloudflare_id=cloudflare_id, name=f"Team {number}")


def demo_account(cloudflare) -> Account:
    """Acme Prod of the sandbox's demo seed, in the portal."""
    cloudflare.reset("demo")
    return Account.objects.create(cloudflare_id=ACME_PROD, name="Acme Prod")
