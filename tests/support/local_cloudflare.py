"""A small local HTTP server that plays Cloudflare from a script, for the client's gateway and analytics
calls that the sandbox does not serve the way a test needs: `LocalCloudflare().answer(reply(...), ...)`."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.sandbox_fixtures import ACCOUNT

TOKEN = "gw-test-token-0c4f19d2a7"
__all__ = ["ACCOUNT", "RESET", "TOKEN", "LocalCloudflare", "reply"]

RESET = "reset"


def _dump(value: Any) -> str:
    """JSON with Decimals written as their exact digits."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value)


def reply(status: int = 200, body: Any = None, *, content_type="application/json", headers=None) -> tuple:
    """One scripted answer: a JSON value (or raw bytes) with its status and headers."""
    raw = body if isinstance(body, bytes) else _dump(body).encode()
    return status, raw, content_type, headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = {
            "method": self.command,
            "path": url.path,
            "query": {k: v[0] for k, v in parse_qs(url.query).items()},
            "headers": dict(self.headers),
            "body": json.loads(body, parse_float=Decimal) if body else None,
        }
        answer = self.server.local.next_answer(request)
        if answer == RESET:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            return
        status, raw, content_type, headers = answer
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:
        pass


class LocalCloudflare:
    """A local HTTP server answering from a script: a list of answers (or callables taking the request)
    used in turn, the last one repeated. ``requests`` holds what it received."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.local = self
        self._lock = threading.Lock()
        self.script: list[Any] = [reply(404, {"success": False, "errors": [], "result": None})]
        self.requests: list[dict] = []
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/client/v4"

    def answer(self, *answers: Any) -> None:
        self.script, self.requests = list(answers), []

    def next_answer(self, request: dict) -> Any:
        with self._lock:
            self.requests.append(request)
            answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return answer(request) if callable(answer) else answer

    def __enter__(self) -> LocalCloudflare:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
