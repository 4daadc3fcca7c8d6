"""One HTTP answer to one operation, with what every error message about it needs (shared by the envelope
and GraphQL readers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic

from billing.cloudflare.errors import InvalidResponseError
from billing.cloudflare.operation import Operation, ResultT_co

__all__ = ["Answer"]


@dataclass(frozen=True, slots=True)
class Answer(Generic[ResultT_co]):
    op: Operation[ResultT_co]
    account_id: str
    status: int
    ray_id: str | None
    redact: Callable[[str], str]

    @property
    def ray(self) -> str:
        return f"ray {self.ray_id}" if self.ray_id else "no ray id"

    def invalid(
        self, message: str, *, field: str | None = None, retryable: bool = False
    ) -> InvalidResponseError:
        """An InvalidResponseError naming the operation, status and ray id, the token redacted."""
        error = InvalidResponseError(
            self.redact(f"{message} ({self.op.name}, HTTP {self.status}, ray {self.ray_id or 'unknown'})"),
            field=field,
            retryable=retryable,
            operation=self.op.name,
            account_id=self.account_id,
        )
        error.status_code, error.ray_id = self.status, self.ray_id
        return error
