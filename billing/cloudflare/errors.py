"""The errors the Cloudflare client raises: one hierarchy under ``CloudflareError``.

Every instance has a human ``message`` and ``retryable`` (can trying again later help?).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CloudflareError",
    "GraphQLError",
    "GraphQLPermissionError",
    "InvalidResponseError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitBudgetExceeded",
    "RateLimitError",
    "ServerError",
]


class CloudflareError(Exception):
    """Base of every error the client raises. ``retryable``: whether trying again later can help."""

    retryable: bool = False

    def __init__(self, message: str, *, operation: str | None = None, account_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.account_id = account_id

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class RateLimitBudgetExceeded(CloudflareError):
    """The local request budget of the token is spent (raised by ``billing.cloudflare.budget`` before any
    request)."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class APIConnectionError(CloudflareError):
    """The connection failed (refused, reset, DNS) or the body could not be read."""

    retryable = True

    def __init__(self, message: str, *, sent: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # False only when the request certainly never left this machine (connection refused, DNS).
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """Connecting or waiting for the answer took longer than the timeout."""


class InvalidResponseError(CloudflareError):
    """Cloudflare answered, but not with what the API promises (non-JSON, truncated, wrong shape)."""

    def __init__(
        self, message: str, *, field: str | None = None, retryable: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.field = field
        self.retryable = retryable
        self.status_code: int | None = None
        self.ray_id: str | None = None


class APIStatusError(CloudflareError):
    """Cloudflare answered with an HTTP error status; ``errors`` holds the (code, message) pairs sent."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: tuple[tuple[int | None, str], ...] = (),
        ray_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.errors = errors
        self.ray_id = ray_id
        if status_code in (408, 409):
            self.retryable = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class AuthenticationError(APIStatusError):
    """401/403: the token is invalid or lacks ``permission``; ``dashboard_only`` when only a dashboard session
    may do this operation (Cloudflare refuses API tokens for it)."""

    def __init__(self, message: str, *, permission: str, dashboard_only: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.permission = permission
        self.dashboard_only = dashboard_only


class NotFoundError(APIStatusError):
    """404: unknown account id (code 7003) or a resource that does not exist."""


class BadRequestError(APIStatusError):
    """400/422: Cloudflare rejected the input; the message carries its field messages."""


class RateLimitError(APIStatusError):
    """429: Cloudflare's rate limit. ``retry_after`` in seconds when Cloudflare said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx, including the HTML error pages of Cloudflare's edge (502, 504, 520-527)."""

    retryable = True


# One GraphQL error as sent: (extensions.code or None, message, path as "viewer.accounts.0" or None).
GraphQLErrorDetail = tuple[str | None, str, str | None]


class GraphQLError(CloudflareError):
    """Cloudflare's GraphQL API answered with ``errors`` (a bad field or filter, a limit), usually at HTTP
    200. ``retryable`` only when an error says rate limit, quota or timeout; ``unknown_fields`` names the
    fields the schema does not know (a query asking for one is refused whole)."""

    def __init__(
        self,
        message: str,
        *,
        errors: tuple[GraphQLErrorDetail, ...],
        status_code: int,
        ray_id: str | None = None,
        retryable: bool = False,
        unknown_fields: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors
        self.status_code = status_code
        self.ray_id = ray_id
        self.retryable = retryable
        self.unknown_fields = unknown_fields


class GraphQLPermissionError(AuthenticationError):
    """Cloudflare's GraphQL API refused the query for want of a permission (``permission``), usually at HTTP
    200; ``graphql_errors`` holds the errors as sent."""

    def __init__(
        self, message: str, *, graphql_errors: tuple[GraphQLErrorDetail, ...], **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.graphql_errors = graphql_errors


class OutcomeUnknownError(CloudflareError):
    """A money-moving request may have reached Cloudflare but its answer did not arrive: do not repeat it
    blindly; check the balance / top-up history first. ``cause`` is the underlying error."""

    retryable = False

    def __init__(
        self, message: str, *, operation: str, account_id: str, amount: int | None, cause: CloudflareError
    ) -> None:
        super().__init__(message, operation=operation, account_id=account_id)
        self.amount = amount
        self.cause = cause
        self.status_code: int | None = getattr(cause, "status_code", None)
        self.ray_id: str | None = getattr(cause, "ray_id", None)
