"""One endpoint as the client sees it: method, path, how its answer is read, and the facts that change how a
failure is handled (it moves money; it must not be repeated blindly; Cloudflare refuses it to API tokens)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

__all__ = [
    "ANALYTICS_READ_PERMISSION",
    "BILLING",
    "GATEWAYS",
    "READ_PERMISSION",
    "WRITE_PERMISSION",
    "Operation",
    "ResultT",
    "ResultT_co",
]

READ_PERMISSION = "AI Gateway Read"
WRITE_PERMISSION = "AI Gateway Write"
ANALYTICS_READ_PERMISSION = "Account Analytics: Read"

# Path prefixes, relative to the base URL (".../client/v4").
BILLING = "/accounts/{account_id}/ai-gateway/billing"
GATEWAYS = "/accounts/{account_id}/ai-gateway/gateways"

# What an operation's parser returns, so that a call's result has its operation's type.
ResultT_co = TypeVar("ResultT_co", covariant=True)
ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class Operation(Generic[ResultT_co]):
    """``path`` is a template relative to the base URL; ``{account_id}`` and the call's path parameters are
    filled in, each percent-encoded.

    ``reads`` says what ``parse(value, where)`` is given: the envelope's ``result`` ("result"), the whole
    successful envelope ("envelope", for pages that need ``result_info``), or GraphQL's ``data`` ("graphql").
    """

    name: str
    method: str
    path: str
    parse: Callable[[Any, str], ResultT_co]
    moves_money: bool = False
    # False: never repeated once it may have reached Cloudflare; a lost answer raises OutcomeUnknownError.
    idempotent: bool = True
    # Cloudflare documents these as refused to API tokens (dashboard sessions only): a 403 says so plainly.
    dashboard_only: bool = False
    reads: Literal["result", "envelope", "graphql"] = "result"
    needs: str | None = None

    @property
    def permission(self) -> str:
        """The token permission this operation needs."""
        if self.needs is not None:
            return self.needs
        return READ_PERMISSION if self.method == "GET" else WRITE_PERMISSION

    @property
    def repeatable(self) -> bool:
        """Whether repeating the request after a lost answer is safe."""
        return self.idempotent and not self.moves_money

    def url_path(self, account_id: str, path_params: Mapping[str, str] | None = None) -> str:
        """The path with ``account_id`` and ``path_params`` filled in, each percent-encoded."""
        values = {name: quote(value, safe="") for name, value in (path_params or {}).items()}
        return self.path.format(account_id=quote(account_id, safe=""), **values)
