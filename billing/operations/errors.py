"""What an operation tells a person when Cloudflare refused or failed it."""

from billing.cloudflare import APIStatusError, AuthenticationError, CloudflareError, OutcomeUnknownError


class OperationError(Exception):
    """Cloudflare refused or failed an action; nothing was done. `message` is fit to show to a person."""

    def __init__(self, message: str, *, dashboard_only: bool = False, unknown: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.dashboard_only = dashboard_only
        self.unknown = unknown


def describe_error(exc: CloudflareError) -> str:
    """A sentence for people: Cloudflare's own messages where it sent some, else the client's summary."""
    if isinstance(exc, AuthenticationError) and exc.dashboard_only:
        return (
            "Cloudflare accepts this change only from its dashboard, not from the portal's API token. "
            "Make the change in the Cloudflare dashboard."
        )
    if isinstance(exc, APIStatusError) and exc.errors:
        said = "; ".join(message for _, message in exc.errors if message)
        if said:
            return f"Cloudflare said: {said} (HTTP {exc.status_code})."
    return exc.message


def operation_error(exc: CloudflareError) -> OperationError:
    """The OperationError to raise for a client error."""
    return OperationError(
        describe_error(exc),
        dashboard_only=isinstance(exc, AuthenticationError) and exc.dashboard_only,
        unknown=isinstance(exc, OutcomeUnknownError),
    )
