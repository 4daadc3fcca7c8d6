"""What an operation tells a person when Cloudflare refused or failed it, and where to go instead."""

from django.conf import settings

from billing.cloudflare import APIStatusError, AuthenticationError, CloudflareError, OutcomeUnknownError

# Cloudflare's own deep link (":account" lets the dashboard pick the account): the AI Gateway page, whose
# "Credits Available › Manage" sets auto top-up, and whose gateways hold the spend limits that replace the
# account-level spending limit.
AI_GATEWAY_DASHBOARD_PATH = "?to=/:account/ai/ai-gateway"


def ai_gateway_dashboard_url() -> str:
    """Where people make the changes Cloudflare accepts only from its dashboard."""
    return settings.CLOUDFLARE_DASHBOARD_URL.rstrip("/") + "/" + AI_GATEWAY_DASHBOARD_PATH


def is_refusal(exc: CloudflareError) -> bool:
    """Cloudflare said no (HTTP 403): a definite answer, nothing was changed."""
    return isinstance(exc, APIStatusError) and exc.status_code == 403


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
        if exc.operation == "spending_limit.create":
            return (
                "Cloudflare no longer lets the API create or change an account spending limit (it always "
                "answers HTTP 403). Use per-gateway spend limits instead."
            )
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
