"""One endpoint of the billing API as the client sees it: method, path, how its result is read, and the
two facts that change how a failure is handled (it moves money; Cloudflare refuses it to API tokens)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["READ_PERMISSION", "WRITE_PERMISSION", "Operation"]

READ_PERMISSION = "AI Gateway Read"
WRITE_PERMISSION = "AI Gateway Write"


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    method: str
    path: str
    parse: Callable[[Any, str], Any]
    moves_money: bool = False
    # Cloudflare documents these as refused to API tokens (dashboard sessions only): a 403 says so plainly.
    dashboard_only: bool = False

    @property
    def permission(self) -> str:
        """The token permission this operation needs."""
        return READ_PERMISSION if self.method == "GET" else WRITE_PERMISSION
