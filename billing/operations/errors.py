"""What an operation tells a person when Cloudflare refused or failed it, and where to go instead."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing.cloudflare import (
    APIStatusError,
    AuthenticationError,
    CloudflareError,
    OutcomeUnknownError,
    RateLimitBudgetExceeded,
    RateLimitError,
)

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
    if isinstance(exc, RateLimitError | RateLimitBudgetExceeded):
        return _asked_to_wait(exc)
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


def _asked_to_wait(exc: RateLimitError | RateLimitBudgetExceeded) -> str:
    """A 429 (or the portal's own request budget) answered at once, never slept through on a web request."""
    who = "Cloudflare" if isinstance(exc, RateLimitError) else "The portal's request budget for Cloudflare"
    if exc.retry_after is None:
        return f"{who} asked to wait before the next request. Nothing was sent; try again in a minute."
    until = timezone.now() + timedelta(seconds=exc.retry_after)
    return (
        f"{who} asked to wait {exc.retry_after:.0f} s, until {until:%H:%M:%S} UTC. Nothing was sent; "
        "try again after that."
    )


def operation_error(exc: CloudflareError) -> OperationError:
    """The OperationError to raise for a client error."""
    return OperationError(
        describe_error(exc),
        dashboard_only=isinstance(exc, AuthenticationError) and exc.dashboard_only,
        unknown=isinstance(exc, OutcomeUnknownError),
    )
