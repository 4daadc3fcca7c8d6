"""Fixtures for tests that talk to the Cloudflare sandbox over real HTTP (registered by tests/conftest.py).

- `sandbox_server` (session): one SandboxServer on a free port, seed "empty", its clock frozen (speed 0)
  so balances move only when a test moves time with `sandbox.advance(seconds)`; top-ups complete
  5 simulated seconds after creation.
- `sandbox` (function): resets that server (seed "empty", default settings, no faults, empty request
  log) and returns a `SandboxControl` (`.base_url`, `.root_url`, `.token`, `.put_account()`,
  `.advance()`, `.add_fault()`, `.requests()`, `.configure()` ...).
- `sandbox_demo` (function): the same, reset to the demo seed (DEMO_ACCOUNTS).
- `sandbox_api` (function): a `SandboxApi` on that server: `requests` with the bearer token and JSON
  helpers. It resets nothing: ask for `sandbox` or `sandbox_demo` too.
  Beyond billing: `gateway_url(account, gateway?)` and `graphql(query, **variables)`.
- `cloudflare` (function): the portal pointed at `sandbox`; when the test also has the `account` fixture,
  Cloudflare knows that account too (see `fund`). `own_cloudflare`: the same on a sandbox of the test's own,
  for latency faults that answer after the test.

`api_requests(sandbox, method, contains)` is the one way to read which API requests the sandbox received.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from cloudflare_sandbox import DEFAULT_TOKEN, SandboxServer
from cloudflare_sandbox.jsonutil import loads
from cloudflare_sandbox.testing import SandboxControl

ACCOUNT = "0123456789abcdef0123456789abcdef"
VISA = {"brand": "visa", "last4": "4242"}


class SandboxApi:
    """Calls the billing API of a sandbox: `api.get(ACCOUNT, "credit-balance")` returns the response."""

    def __init__(self, base_url: str, token: str = DEFAULT_TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, account_id: str, op: str) -> str:
        return f"{self.base_url}/accounts/{account_id}/ai-gateway/billing/{op}"

    def get(self, account_id: str, op: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(account_id, op), params=params, timeout=10)

    def post(
        self, account_id: str, op: str, json: Any = None, data: bytes | str | None = None
    ) -> requests.Response:
        return self.session.post(self.url(account_id, op), json=json, data=data, timeout=10)

    def delete(self, account_id: str, op: str) -> requests.Response:
        return self.session.delete(self.url(account_id, op), timeout=10)

    def result(self, response: requests.Response) -> Any:
        """The `result` of a successful answer, numbers with fractions as Decimal."""
        doc = loads(response.content)
        if response.status_code >= 300 or doc.get("success") is not True:
            raise AssertionError(f"{response.status_code}: {response.text}")
        return doc["result"]

    def balance(self, account_id: str) -> Decimal:
        return Decimal(self.result(self.get(account_id, "credit-balance"))["balance"])

    def gateway_url(self, account_id: str, gateway_id: str | None = None) -> str:
        url = f"{self.base_url}/accounts/{account_id}/ai-gateway/gateways"
        return url if gateway_id is None else f"{url}/{gateway_id}"

    def graphql(self, query: str, **variables: Any) -> requests.Response:
        """POST a GraphQL query (the answer's numbers with fractions are floats, as a client sees them)."""
        return self.session.post(
            f"{self.base_url}/graphql", json={"query": query, "variables": variables}, timeout=10
        )


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(seed="empty", speed=0.0, topup_delay_seconds=5.0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    control = SandboxControl(sandbox_server.root_url)
    control.reset("empty")
    return control


@pytest.fixture
def sandbox_demo(sandbox_server: SandboxServer) -> SandboxControl:
    control = SandboxControl(sandbox_server.root_url)
    control.reset("demo")
    return control


@pytest.fixture
def sandbox_api(sandbox_server: SandboxServer) -> Iterator[SandboxApi]:
    api = SandboxApi(sandbox_server.base_url, DEFAULT_TOKEN)
    yield api
    api.session.close()


def to_next_hour(sandbox: SandboxControl) -> int:
    """Moves simulated time to the next hour boundary (exactly) and returns it in Unix ms: the sandbox rounds
    each stretch of usage it accrues to a micro-dollar, and stretches end at hour boundaries, so amounts
    are exact only for an account that starts on one (not at whatever millisecond the test runs)."""
    now_ms = sandbox.clock()["now_ms"]
    boundary = (now_ms // 3_600_000 + 1) * 3_600_000
    sandbox.advance(Decimal(boundary - now_ms) / 1000)
    assert sandbox.clock()["now_ms"] == boundary
    return boundary


def api_requests(sandbox: SandboxControl, method: str | None = None, contains: str = "") -> list[dict]:
    """The billing API requests the sandbox received (control calls are not logged), optionally only those of
    one method or whose path contains a string."""
    return [
        r for r in sandbox.requests() if (method is None or r["method"] == method) and contains in r["path"]
    ]


def fund(sandbox: SandboxControl, account) -> None:
    """Puts the portal's `account` on Cloudflare: $50.00, a Visa card, its first top-up done."""
    sandbox.put_account(
        account.cloudflare_id, name=account.name, balance=5000, payment_method=VISA, first_topup_success=True
    )


def _point_the_portal_at(sandbox: SandboxControl, settings, request) -> None:
    from billing import clients

    settings.CLOUDFLARE_API_BASE_URL = sandbox.base_url
    settings.CLOUDFLARE_API_TOKEN = sandbox.token
    settings.CLOUDFLARE_RATE_LIMIT = 100_000
    if "account" in request.fixturenames:
        settings.CLOUDFLARE_MAX_RETRIES = 0
        fund(sandbox, request.getfixturevalue("account"))
        sandbox.clear_requests()
    clients.reset_clients()


@pytest.fixture
def cloudflare(sandbox: SandboxControl, settings, request) -> Iterator[SandboxControl]:
    """The sandbox, reset to "empty", with the portal's settings pointing at it; yields its SandboxControl.

    A test that also has the `account` fixture finds that account on Cloudflare (`fund`), and the client
    makes no retries of its own there, so a fault injected once is the answer the page or operation gets.
    The local request budget is lifted so that the suite's calls never wait on one another's budget.
    """
    from billing import clients

    _point_the_portal_at(sandbox, settings, request)
    yield sandbox
    clients.reset_clients()


@pytest.fixture
def own_cloudflare(settings, request) -> Iterator[SandboxControl]:
    """`cloudflare` on a sandbox of the test's own, its clock frozen too: for latency faults, whose requests
    are answered (and logged) after the test, where no other test's request log or accounts can see them."""
    from billing import clients

    with SandboxServer(seed="empty", speed=0.0) as server:
        control = SandboxControl(server.root_url)
        _point_the_portal_at(control, settings, request)
        yield control
        clients.reset_clients()
