"""Simulated time: the sandbox's clock, faster than the machine's and movable by the control API."""

from __future__ import annotations

import time
from decimal import Decimal


class Clock:
    """Simulated time: runs `speed` times faster than the machine's clock and can be pushed forward."""

    def __init__(self, start_ms: int, speed: float) -> None:
        self.speed = speed
        self._base_sim = start_ms
        self._base_real = time.monotonic()

    def now_ms(self) -> int:
        return self._base_sim + int((time.monotonic() - self._base_real) * 1000 * self.speed)

    def set(self, sim_ms: int) -> None:
        self._base_sim, self._base_real = sim_ms, time.monotonic()

    def set_speed(self, speed: float) -> None:
        self.set(self.now_ms())
        self.speed = speed

    def advance(self, seconds: float | Decimal) -> None:
        self.set(self.now_ms() + int(seconds * 1000))
