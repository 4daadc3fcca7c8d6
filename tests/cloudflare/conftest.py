"""The client's tests against a local server that plays Cloudflare: `local` (one per module) and `calls`,
which the client's `on_call` hook appends to."""

import pytest

from tests.support.local_cloudflare import LocalCloudflare


@pytest.fixture(scope="module")
def local():
    with LocalCloudflare() as server:
        yield server


@pytest.fixture
def calls():
    return []
