"""The sandbox's view of the machine's clock, held still and moved by the test (`machine_clock`)."""

import pytest

from cloudflare_sandbox import clock, server
from tests.support.clock import MachineClock


@pytest.fixture
def machine_clock(monkeypatch) -> MachineClock:
    """The machine's clock as the sandbox (in this process) reads it, for the simulated clock's speed and the
    rate-limit window: it moves only when the test moves it, so no test waits and none depends on how fast
    the machine runs."""
    fake = MachineClock()
    monkeypatch.setattr(clock, "time", fake)
    monkeypatch.setattr(server, "time", fake)
    return fake
