"""A small client for the control API, for tests and demo scripts (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from .jsonutil import dumps, loads
from .server import DEFAULT_TOKEN


class ControlClientError(Exception):
    """The control API refused a call; `status` and `doc` hold its answer."""

    def __init__(self, status: int, doc: Any) -> None:
        super().__init__(f"control API answered {status}: {doc}")
        self.status = status
        self.doc = doc


class SandboxControl:
    """Drive a running sandbox: `SandboxControl("http://127.0.0.1:8787").reset("demo")`."""

    def __init__(self, root_url: str, token: str = DEFAULT_TOKEN, timeout: float = 30.0) -> None:
        self.root_url = root_url.rstrip("/")
        self.base_url = self.root_url + "/client/v4"
        self.token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<SandboxControl {self.root_url}>"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one control request and return its JSON answer (numbers with fractions as Decimal)."""
        data = None if body is None else dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - the sandbox's own http URL
            self.root_url + "/__sandbox__/" + path.lstrip("/"), data=data, method=method
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - an http URL we built
                return loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise ControlClientError(exc.code, json.loads(exc.read() or b"null")) from None

    def reset(self, seed: str = "empty") -> Any:
        return self.call("POST", "reset", {"seed": seed})

    def put_account(self, account_id: str, **fields: Any) -> dict[str, Any]:
        """Create or reshape an account (balance in cents, usage_per_hour in dollars, ...)."""
        return self.call("PUT", f"accounts/{account_id}", _decimals(fields))

    def credit(self, account_id: str, amount: int) -> dict[str, Any]:
        """Add `amount` cents to the balance behind the portal's back (no top-up, no invoice); negative
        takes credit away."""
        return self.call("POST", f"accounts/{account_id}/credit", {"amount": amount})

    def account(self, account_id: str) -> dict[str, Any]:
        return self.call("GET", f"accounts/{account_id}")

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.call("POST", "clock", {"advance_seconds": _decimals(seconds)})

    def clock(self) -> dict[str, Any]:
        return self.call("GET", "clock")

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        return self.call("POST", "faults", fault)

    def clear_faults(self) -> Any:
        return self.call("DELETE", "faults")

    def requests(self) -> list[dict[str, Any]]:
        return self.call("GET", "requests")["requests"]

    def clear_requests(self) -> Any:
        return self.call("DELETE", "requests")

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self.call("POST", "config", _decimals(settings))

    def gateways(self, account_id: str) -> dict[str, Any]:
        """The account's gateways (as the API shows them) and its traffic mix."""
        return self.call("GET", f"accounts/{account_id}/gateways")

    def put_gateways(
        self, account_id: str, gateways: list[dict[str, Any]] | None = None, mix: list[Any] | None = None
    ) -> dict[str, Any]:
        """Replace the gateways and/or the mix (entries as dicts or (gateway, provider, model, weight))."""
        body: dict[str, Any] = {}
        if gateways is not None:
            body["gateways"] = gateways
        if mix is not None:
            body["mix"] = [
                e
                if isinstance(e, dict)
                else dict(zip(("gateway", "provider", "model", "weight"), e, strict=True))
                for e in mix
            ]
        return self.call("PUT", f"accounts/{account_id}/gateways", _decimals(body))

    def spend_limits(self, account_id: str) -> dict[str, Any]:
        """Per gateway: requests its spend-limit rules refused, and each rule's window spend now."""
        return self.call("GET", f"accounts/{account_id}/spend-limits")


def _decimals(value: Any) -> Any:
    """Floats become Decimal (by their shortest text) so dumps() can send them."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    return value
