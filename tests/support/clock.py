"""The clocks of the tests: SUITE_NOW, the moment every test that runs in this process alone starts at
(tests/conftest.py moves the wall clock there); MachineClock, a monotonic clock the test moves; and
wait_for, the one way to wait for another process.

SUITE_NOW is mid-morning, mid-week and mid-month, in UTC: far from the boundaries of an hour, a day, a week
and a month, so a test's data and the figures read from it always fall in the same ones.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

SUITE_NOW = datetime(2026, 3, 18, 10, 20, tzinfo=UTC)


class MachineClock:
    """Stands in for the `time` module of code under test that measures or waits with the monotonic clock
    (time_machine moves the wall clock only): `monotonic()` stays where the test puts it (`advance`), and
    `sleep(seconds)` returns at once, having moved it that far. Everything else is the real `time`."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def __getattr__(self, name: str):
        return getattr(time, name)


def wait_for(condition: Callable[[], object], timeout: float = 60, message: str = "condition") -> None:
    """Polls `condition` until it is true; raises AssertionError naming `message` after `timeout` seconds.

    For what another process does (a worker, a beat, an SMTP delivery): the bound is generous, never the
    expected duration, so a busy machine only makes the test slower."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")
