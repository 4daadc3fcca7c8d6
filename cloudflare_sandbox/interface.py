"""What the HTTP handler and the control API need from a running sandbox, so neither imports the server.

`server.SandboxServer` satisfies `Sandbox`; `Reply` (and `RESET`) are what every layer answers with.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from decimal import Decimal
from typing import Any, Protocol

from .clock import Clock
from .faults import Fault
from .model import Billing


class Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {"Content-Type": "application/json"}


RESET = object()  # answer nothing and drop the connection


class Sandbox(Protocol):
    """The running sandbox as the control API and the HTTP handler see it."""

    lock: threading.Lock
    billing: Billing
    clock: Clock
    seed_name: str
    speed: float
    rate_limit: tuple[int, int]
    accept_dashboard_writes: bool
    topup_delay_seconds: float
    fee_percent: Decimal
    analytics_read: bool
    invoice_paging: bool
    graphql_rate_limit: tuple[int, int]
    analytics_limits: dict[str, int]
    analytics_unknown_fields: list[str]
    analytics_empty: bool
    faults: list[Fault]
    request_log: deque[dict[str, Any]]

    def reset(self, seed_name: str | None = None) -> None: ...

    def settings(self) -> dict[str, Any]: ...

    def apply_settings(self) -> None: ...

    def mark_dirty(self) -> None: ...

    def restart_rate_window(self) -> None: ...

    def track(self, conn: socket.socket, add: bool) -> None: ...

    def serve_api(
        self, method: str, path: str, query: str, raw: bytes, auth: str | None
    ) -> Reply | object: ...
