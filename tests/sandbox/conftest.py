"""The sandbox's view of the machine's clock, held still and moved by the test (`machine_clock`)."""

import time

import pytest

from cloudflare_sandbox import clock, server


class MachineClock:
    """Stands in for the `time` module in the sandbox's clock and server: `monotonic()` stays where the
    test puts it (`advance(seconds)`); everything else is the real `time`."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.fixture
def machine_clock(monkeypatch) -> MachineClock:
    """The machine's clock as the sandbox (in this process) reads it, for the simulated clock's speed and the
    rate-limit window: it moves only when the test moves it, so no test waits and none depends on how fast
    the machine runs."""
    fake = MachineClock()
    monkeypatch.setattr(clock, "time", fake)
    monkeypatch.setattr(server, "time", fake)
    return fake
