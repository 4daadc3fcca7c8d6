"""Injected faults: what a flaky network or Cloudflare's edge can do to an answer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .jsonutil import dumps

KINDS = ("envelope", "html", "truncated", "empty", "reset")
DEFAULT_STATUS = {"envelope": 500, "html": 502, "truncated": 200, "empty": 200}
ENVELOPE_CODES = {401: 10000, 403: 10000, 404: 7003, 429: 971}
FIELDS = (
    "method",
    "path_contains",
    "count",
    "status",
    "retry_after",
    "latency_ms",
    "body",
    "apply",
    "code",
    "message",
)

_ids = itertools.count(1)


@dataclass
class Fault:
    id: int
    method: str | None
    path_contains: str | None
    count: int | None  # None: until cleared
    status: int | None
    retry_after: int | None
    latency_ms: int
    body: str | None
    apply: bool
    code: int | None
    message: str | None

    @property
    def latency_only(self) -> bool:
        return self.status is None and self.body is None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not self.path_contains or self.path_contains in path

    def describe(self) -> dict[str, Any]:
        return dict(vars(self))

    def answer(self, real_body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        """Return (status, headers, body) of the faulty answer; not used for "reset"."""
        kind = self.body or "envelope"
        status = self.status or DEFAULT_STATUS[kind]
        headers = {"Content-Type": "application/json"}
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        if kind == "envelope":
            code = self.code or ENVELOPE_CODES.get(status, 10001 if status >= 500 else 1000)
            message = self.message or f"Simulated error {status}"
            doc = {
                "success": False,
                "errors": [{"code": code, "message": message}],
                "messages": [],
                "result": None,
            }
            return status, headers, dumps(doc).encode()
        if kind == "html":
            headers["Content-Type"] = "text/html; charset=UTF-8"
            return status, headers, _html_page(status).encode()
        if kind == "truncated":
            full = real_body or b'{"success":true,"errors":[],"messages":[],"result":{"balance":12345.6789}}'
            return status, headers, full[: max(1, len(full) // 2)]
        return status, headers, b""


def parse_fault(data: Any) -> Fault:
    """Build a Fault from the control API's JSON, or raise ValueError naming the bad field."""
    if not isinstance(data, dict):
        raise ValueError("a JSON object is required")
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (allowed: {', '.join(FIELDS)})")

    def opt_int(name: str, low: int, high: int | None = None) -> int | None:
        value = data.get(name)
        if value is None:
            return None
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
            raise ValueError(f"{name}: must be an integer from {low}" + (f" to {high}" if high else ""))
        return value

    def opt_str(name: str) -> str | None:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}: must be a string")
        return value

    body = opt_str("body")
    if body is not None and body not in KINDS:
        raise ValueError(f"body: must be one of {', '.join(KINDS)}")
    apply = data.get("apply", False)
    if not isinstance(apply, bool):
        raise ValueError("apply: must be true or false")
    method = opt_str("method")
    return Fault(
        id=next(_ids),
        method=method.upper() if method else None,
        path_contains=opt_str("path_contains"),
        count=opt_int("count", 1) if "count" in data else 1,
        status=opt_int("status", 100, 599),
        retry_after=opt_int("retry_after", 0),
        latency_ms=opt_int("latency_ms", 0, 120_000) or 0,
        body=body,
        apply=apply,
        code=opt_int("code", 0),
        message=opt_str("message"),
    )


_REASONS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway time-out",
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}


def _html_page(status: int) -> str:
    reason = _REASONS.get(status, "Error")
    return (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n'
        f"<title>api.cloudflare.com | {status}: {reason}</title>\n"
        '<meta charset="UTF-8" />\n</head>\n<body>\n<div id="cf-error-details">\n'
        f'<h1><span class="inline-block">{reason}</span> '
        f'<span class="code-label">Error code {status}</span></h1>\n'
        "<p>Visit cloudflare.com for more information.</p>\n"
        '<p class="ray-id">Cloudflare Ray ID: <strong>8f1e2d3c4b5a6978</strong></p>\n'
        "</div>\n</body>\n</html>\n"
    )
