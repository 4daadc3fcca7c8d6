"""The HTTP layer: reads a request, hands it to the control API or the sandbox, writes the answer."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import control
from .interface import RESET, Reply, Sandbox

log = logging.getLogger("cloudflare_sandbox")


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    sandbox: Sandbox


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cloudflare"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this long
    disable_nagle_algorithm = True  # small answers must not wait for the client's delayed ACK
    server: HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.sandbox.track(self.connection, add=True)

    def finish(self) -> None:
        self.server.sandbox.track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # Requests are logged once each in _dispatch; this only carries the base class's protocol errors.
        log.debug(format, *args)

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _dispatch(self) -> None:
        started = time.perf_counter()
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if url.path.startswith(control.PREFIX):
            reply: Reply | object = control.handle(sandbox, self.command, url.path, url.query, raw)
        else:
            reply = sandbox.serve_api(
                self.command, url.path, url.query, raw, self.headers.get("Authorization")
            )
        elapsed = (time.perf_counter() - started) * 1000
        if reply is RESET:
            log.info("%s %s -> reset (%.1f ms)", self.command, self.path, elapsed)
            self._reset()
            return
        assert isinstance(reply, Reply)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("cf-ray", "8f1e2d3c4b5a6978-SBX")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        if not url.path.startswith(control.PREFIX):
            log.info("%s %s -> %s (%.1f ms)", self.command, self.path, reply.status, elapsed)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch
