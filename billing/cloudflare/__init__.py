"""Cloudflare's AI Gateway billing API: the portal's one HTTP seam. Imports nothing from Django or the portal.

``BillingClient`` (``resources``) mirrors the SDK's ``client.ai_gateway.billing``, with the gateways under
``.ai_gateway`` and spend analytics (GraphQL) under ``.analytics``; ``client`` sends, retries and times out;
``envelope`` reads answers (``graphql`` the GraphQL ones); ``results`` holds each result type beside its
parser; ``errors`` the typed errors; ``budget`` the per-token request budget. Every public name is
importable from here.
"""

from billing.cloudflare.budget import (
    InProcessRateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
)
from billing.cloudflare.client import (
    RequestBudget,
    deadline_scope,
    token_key,
)
from billing.cloudflare.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CloudflareError,
    GraphQLError,
    GraphQLPermissionError,
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
from billing.cloudflare.resources_analytics import GATEWAY_SPEND_QUERY
from billing.cloudflare.resources_gateways import SERVER_OWNED_FIELDS
from billing.cloudflare.results import (
    DEFAULT_TECHNIQUE,
    CreditBalance,
    Gateway,
    GatewayPage,
    Invoice,
    InvoiceHistory,
    InvoiceLine,
    InvoiceLinePeriod,
    InvoiceLinePretaxCreditAmount,
    InvoiceLinePricing,
    InvoicePreview,
    Pagination,
    PaymentMethod,
    ResultInfo,
    SpendGroup,
    SpendingLimit,
    SpendingLimitConfig,
    SpendLimitRule,
    SpendLimits,
    TopupConfig,
    TopupConfigSet,
    TopupCreateResult,
    TopupLimits,
    TopupStatus,
    UsageHistory,
    UsageSummary,
)

__all__ = [
    "DEFAULT_TECHNIQUE",
    "GATEWAY_SPEND_QUERY",
    "SERVER_OWNED_FIELDS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BillingClient",
    "CloudflareError",
    "CreditBalance",
    "Gateway",
    "GatewayPage",
    "GraphQLError",
    "GraphQLPermissionError",
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
    "ResultInfo",
    "ServerError",
    "SpendGroup",
    "SpendLimitRule",
    "SpendLimits",
    "SpendingLimit",
    "SpendingLimitConfig",
    "TopupConfig",
    "TopupConfigSet",
    "TopupCreateResult",
    "TopupLimits",
    "TopupStatus",
    "UsageHistory",
    "UsageSummary",
    "deadline_scope",
    "make_rate_limiter",
    "token_key",
]
