"""Cloudflare's AI Gateway billing API: the portal's one HTTP seam. Imports nothing from Django or the portal.

``BillingClient`` (``resources``) mirrors the SDK's ``client.ai_gateway.billing``; ``client`` sends, retries
and times out; ``envelope`` reads answers; ``results`` holds each result type beside its parser; ``errors``
the typed errors; ``budget`` the per-token request budget. Every public name is importable from here.
"""

from billing.cloudflare.budget import (
    InProcessRateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
)
from billing.cloudflare.client import (
    RequestBudget,
    token_key,
)
from billing.cloudflare.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CloudflareError,
    InvalidResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitBudgetExceeded,
    RateLimitError,
    ServerError,
)
from billing.cloudflare.resources import (
    BillingClient,
)
from billing.cloudflare.results import (
    CreditBalance,
    Invoice,
    InvoiceHistory,
    InvoiceLine,
    InvoiceLinePeriod,
    InvoiceLinePretaxCreditAmount,
    InvoiceLinePricing,
    InvoicePreview,
    Pagination,
    PaymentMethod,
    SpendingLimit,
    SpendingLimitConfig,
    TopupConfig,
    TopupConfigSet,
    TopupCreateResult,
    TopupLimits,
    TopupStatus,
    UsageHistory,
    UsageSummary,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BillingClient",
    "CloudflareError",
    "CreditBalance",
    "InProcessRateLimiter",
    "InvalidResponseError",
    "Invoice",
    "InvoiceHistory",
    "InvoiceLine",
    "InvoiceLinePeriod",
    "InvoiceLinePretaxCreditAmount",
    "InvoiceLinePricing",
    "InvoicePreview",
    "NotFoundError",
    "OutcomeUnknownError",
    "Pagination",
    "PaymentMethod",
    "RateLimitBudgetExceeded",
    "RateLimitError",
    "RedisRateLimiter",
    "RequestBudget",
    "ServerError",
    "SpendingLimit",
    "SpendingLimitConfig",
    "TopupConfig",
    "TopupConfigSet",
    "TopupCreateResult",
    "TopupLimits",
    "TopupStatus",
    "UsageHistory",
    "UsageSummary",
    "make_rate_limiter",
    "token_key",
]
