"""The sandbox server: settings, life cycle, persistence, and the API path (auth, rate limit, faults, log).

The HTTP plumbing is in `http_handler.py`, the control API in `control.py`; both see this server only
through `interface.Sandbox`.
"""

from __future__ import annotations

import contextlib
import hmac
import math
import os
import socket
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from . import api, graphql_api, routes, wire
from .clock import Clock
from .faults import Fault
from .http_handler import Handler, HTTPServer
from .interface import RESET, Reply
from .jsonutil import dumps, loads
from .model import Billing
from .persistence import billing_from_dict, billing_to_dict
from .seed import SEEDS, seed

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - a well-known test credential, not a secret
REQUEST_LOG_LIMIT = 10_000
SAVE_INTERVAL_SECONDS = 0.25


@dataclass(frozen=True)
class _Settings:
    """The settings a reset returns to (those given at start)."""

    speed: float
    rate_limit: tuple[int, int]  # requests, per seconds
    graphql_rate_limit: tuple[int, int]  # GraphQL queries, per seconds (a quota of their own)
    accept_dashboard_writes: bool
    topup_delay_seconds: float
    fee_percent: Decimal


class SandboxServer:
    """A stand-in for Cloudflare's AI Gateway billing API, served from a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        seed: str = "empty",
        state_file: str | os.PathLike[str] | None = None,
        speed: float = 1.0,
        rate_limit: tuple[int, int] = (1200, 300),
        graphql_rate_limit: tuple[int, int] = (300, 300),
        accept_dashboard_writes: bool = False,
        topup_delay_seconds: float = 5.0,
        fee_percent: Decimal | int = 5,
    ) -> None:
        if seed not in SEEDS:
            raise ValueError(f"seed must be one of {', '.join(SEEDS)}")
        self.host = host
        self._port = port
        self._token = token
        self.seed_name = seed
        self.state_file = Path(state_file) if state_file else None
        self._defaults = _Settings(
            speed=float(speed),
            rate_limit=(int(rate_limit[0]), int(rate_limit[1])),
            graphql_rate_limit=(int(graphql_rate_limit[0]), int(graphql_rate_limit[1])),
            accept_dashboard_writes=bool(accept_dashboard_writes),
            topup_delay_seconds=float(topup_delay_seconds),
            fee_percent=Decimal(fee_percent),
        )
        self.lock = threading.Lock()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._init_runtime()
        self.clock = Clock(_wall_ms(), self.speed)
        self.billing = self._new_billing(self.seed_name)
        if self.state_file and self.state_file.exists():
            self._load()

    def __repr__(self) -> str:
        return f"<SandboxServer {self.root_url if self._httpd else 'stopped'}>"

    # -- settings ---------------------------------------------------------------------------------

    def _init_runtime(self) -> None:
        d = self._defaults
        self.speed = d.speed
        self.rate_limit = d.rate_limit
        self.accept_dashboard_writes = d.accept_dashboard_writes
        self.topup_delay_seconds = d.topup_delay_seconds
        self.fee_percent = d.fee_percent
        self.analytics_read = True  # whether the token may read GraphQL analytics
        self.invoice_paging = True  # false: invoice-history ignores page / per_page, as a Cloudflare might
        # GraphQL's own quota (Cloudflare: 300 queries per 5 minutes, apart from the REST budget), the
        # dataset's limits where they differ from graphql_api.DEFAULT_LIMITS, sums Cloudflare does not know,
        # and whether analytics answer no rows at all.
        self.graphql_rate_limit = d.graphql_rate_limit
        self.analytics_limits: dict[str, int] = {}
        self.analytics_unknown_fields: list[str] = []
        self.analytics_empty = False
        self.faults: list[Fault] = []
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._rate_window: tuple[float, int] = (time.monotonic(), 0)
        self._graphql_window: tuple[float, int] = (time.monotonic(), 0)

    def _new_billing(self, seed_name: str) -> Billing:
        billing = Billing(self.clock.now_ms(), int(self.topup_delay_seconds * 1000), self.fee_percent)
        seed(billing, seed_name)
        return billing

    def reset(self, seed_name: str | None = None) -> None:
        """Start over: fresh seed, default settings, no faults, empty request log. Lock held by caller."""
        seed_name = seed_name or self.seed_name
        if seed_name not in SEEDS:
            raise ValueError(f"seed: must be one of {', '.join(SEEDS)}")
        self._init_runtime()
        self.clock = Clock(_wall_ms(), self.speed)
        self.billing = self._new_billing(seed_name)
        self.mark_dirty()

    def apply_settings(self) -> None:
        """Push runtime settings into the simulation. Lock held by caller."""
        self.clock.set_speed(self.speed)
        self.billing.topup_delay_ms = int(self.topup_delay_seconds * 1000)
        self.billing.fee_percent = self.fee_percent

    def settings(self) -> dict[str, Any]:
        return {
            "speed": self.speed,
            "rate_limit": list(self.rate_limit),
            "accept_dashboard_writes": self.accept_dashboard_writes,
            "topup_delay_seconds": self.topup_delay_seconds,
            "fee_percent": self.fee_percent,
            "analytics_read": self.analytics_read,
            "invoice_paging": self.invoice_paging,
            "graphql_rate_limit": list(self.graphql_rate_limit),
            "analytics_limits": dict(self.analytics_limits),
            "analytics_unknown_fields": list(self.analytics_unknown_fields),
            "analytics_empty": self.analytics_empty,
        }

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + api.API_PREFIX

    def start(self) -> SandboxServer:
        """Bind the port and serve in a daemon thread; return self."""
        if self._httpd:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        httpd_cls = type("_BoundHTTPServer", (HTTPServer,), {"address_family": family})
        self._httpd = httpd_cls((self.host, self._port), Handler)
        self._httpd.sandbox = self
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="cloudflare-sandbox", daemon=True
        )
        self._thread.start()
        if self.state_file:
            self._saver = threading.Thread(
                target=self._save_loop, name="cloudflare-sandbox-saver", daemon=True
            )
            self._saver.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and save the state file."""
        if not self._httpd:
            return
        self._stopping.set()
        self._dirty.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread:
            self._thread.join(timeout=5)
        if self._saver:
            self._saver.join(timeout=5)
        if self.state_file:
            self.save()
        self._httpd = self._thread = self._saver = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self.lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # -- persistence ------------------------------------------------------------------------------

    def mark_dirty(self) -> None:
        if self.state_file:
            self._dirty.set()

    def _save_loop(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.is_set():
                return
            self._dirty.clear()
            self.save()
            time.sleep(SAVE_INTERVAL_SECONDS)  # at most a few writes a second however busy the API is

    def save(self) -> None:
        """Write the state file atomically (a temporary file renamed over the old one)."""
        if not self.state_file:
            return
        with self.lock:
            self.billing.advance_to(self.clock.now_ms())
            data = billing_to_dict(self.billing)
            data["saved_wall_ms"] = _wall_ms()
            text = dumps(data)
        target = self.state_file
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            data = loads(self.state_file.read_text(encoding="utf-8"))
            billing = billing_from_dict(data, int(self.topup_delay_seconds * 1000), self.fee_percent)
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"cannot read sandbox state file {self.state_file}: {exc}") from exc
        # While the server was down the accounts went on living, at the speed the clock runs now.
        downtime = max(0, _wall_ms() - int(data.get("saved_wall_ms", _wall_ms())))
        self.clock = Clock(billing.now_ms + int(downtime * self.speed), self.speed)
        self.billing = billing

    # -- the API ----------------------------------------------------------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def serve_api(self, method: str, path: str, query: str, raw: bytes, auth: str | None) -> Reply | object:
        """Answer one API request, injected faults included, and record it in the request log."""
        fault = self.take_fault(method, path)
        # A latency-only fault with `apply` takes effect at once and answers late ("applied, then timeout").
        late = fault is not None and fault.apply and fault.latency_only
        if fault and fault.latency_ms and not late:
            time.sleep(fault.latency_ms / 1000)
        if fault is None or fault.latency_only:
            reply = self._process(method, path, query, raw, auth)
            self._record(method, path, query, raw, reply.status, fault)
            if late and fault is not None:
                time.sleep(fault.latency_ms / 1000)
            return reply
        real = self._process(method, path, query, raw, auth) if fault.apply else None
        if fault.body == "reset":
            self._record(method, path, query, raw, "reset", fault)
            return RESET
        status, headers, body = fault.answer(real.body if real else None)
        self._record(method, path, query, raw, status, fault)
        return Reply(status, body, headers)

    def _process(self, method: str, path: str, query: str, raw: bytes, auth: str | None) -> Reply:
        try:
            self._authenticate(auth)
            route = routes.resolve(method, path)
            graphql = path.rstrip("/") == routes.GRAPHQL_PATH
            with self.lock:
                if graphql:
                    wait = self._take_graphql_query()
                    if wait:
                        body = dumps(graphql_api.quota_answer()).encode()
                        headers = {"Content-Type": "application/json", "retry-after": str(wait)}
                        return Reply(429, body, headers)
                else:
                    self._check_rate_limit()
                self.billing.move_clock(self.clock.now_ms())  # the account it reads catches up
                args = {
                    "query": dict(parse_qsl(query, keep_blank_values=True)),
                    "raw_body": raw,
                    "root_url": self.root_url,
                    "accept_dashboard_writes": self.accept_dashboard_writes,
                    "analytics_read": self.analytics_read,
                    "invoice_paging": self.invoice_paging,
                }
                if graphql:
                    args["analytics"] = {
                        "limits": self.analytics_limits,
                        "unknown_fields": self.analytics_unknown_fields,
                        "empty": self.analytics_empty,
                    }
                status, doc = route(self.billing, args)
                body = dumps(doc).encode()
            if method != "GET":
                self.mark_dirty()
            return Reply(status, body)
        except wire.ApiError as exc:
            headers = {"Content-Type": "application/json", **exc.headers}
            return Reply(exc.status, dumps(wire.error_envelope(exc.errors)).encode(), headers)

    def _authenticate(self, auth: str | None) -> None:
        if not auth:
            raise wire.ApiError(401, [(wire.CODE_AUTH, "Authentication error")])
        scheme, _, presented = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self._token.encode()
        ):
            raise wire.ApiError(403, [(wire.CODE_AUTH, "Authentication error")])

    def restart_rate_window(self) -> None:
        """Forget the requests counted so far in the current rate-limit windows. Lock held by caller."""
        self._rate_window = (self._rate_window[0], 0)
        self._graphql_window = (self._graphql_window[0], 0)

    def _take_graphql_query(self) -> int:
        """Count one GraphQL query against its own quota: 0, or the seconds until the window restarts when
        the quota is spent. Lock held by caller."""
        self._graphql_window, wait = _count_in(self._graphql_window, self.graphql_rate_limit)
        return wait

    def _check_rate_limit(self) -> None:
        self._rate_window, retry_after = _count_in(self._rate_window, self.rate_limit)
        if retry_after:
            raise wire.ApiError(
                429,
                [
                    (
                        wire.CODE_RATE_LIMITED,
                        "Rate limited: please wait and consider throttling your request speed",
                    )
                ],
                {"retry-after": str(retry_after)},
            )

    def _record(
        self, method: str, path: str, query: str, raw: bytes, status: int | str, fault: Fault | None
    ) -> None:
        try:
            body: Any = loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
        entry = {
            "method": method,
            "path": path,
            "query": dict(parse_qsl(query, keep_blank_values=True)),
            "body": body,
            "status": status,
            "fault": fault.id if fault and not fault.latency_only else None,
            "time": round(time.time(), 3),
        }
        with self.lock:
            self.request_log.append(entry)


def _count_in(window: tuple[float, int], rule: tuple[int, int]) -> tuple[tuple[float, int], int]:
    """One more request in a fixed window (started, count) under (limit, seconds): the window after it, and
    0 or the seconds until the window restarts when the request is over the limit."""
    limit, seconds = rule
    now = time.monotonic()
    started, count = window
    if now - started >= seconds:
        started, count = now, 0
    count += 1
    wait = max(1, math.ceil(started + seconds - now)) if count > limit else 0
    return (started, count), wait


def _wall_ms() -> int:
    return int(time.time() * 1000)
