"""What the billing API answers, as frozen dataclasses mirroring the SDK's types (lists become tuples).

Also the gateways' (``gateways``) and the spend analytics' (``analytics``) results. Every type is read by its
``from_wire(value, where)`` classmethod, which returns the instance for the JSON ``value`` found at path
``where`` or raises InvalidResponseError naming the field that is missing or wrong.
Every JSON number the SDK types as ``float`` stays a ``Decimal`` exactly as sent; counts and the integer
top-up limits are ``int``. Unit decisions live in ``billing/money.py``.
"""

from billing.cloudflare.results.analytics import DatasetSettings, SpendGroup
from billing.cloudflare.results.billing import (
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
    UsageHistory,
    UsageSummary,
)
from billing.cloudflare.results.gateways import (
    DEFAULT_TECHNIQUE,
    Gateway,
    GatewayPage,
    ResultInfo,
    SpendLimitRule,
    SpendLimits,
)
from billing.cloudflare.results.spending_limit import SpendingLimit, SpendingLimitConfig
from billing.cloudflare.results.topup import (
    TopupConfig,
    TopupConfigSet,
    TopupCreateResult,
    TopupLimits,
    TopupStatus,
)

__all__ = [
    "DEFAULT_TECHNIQUE",
    "CreditBalance",
    "DatasetSettings",
    "Gateway",
    "GatewayPage",
    "Invoice",
    "InvoiceHistory",
    "InvoiceLine",
    "InvoiceLinePeriod",
    "InvoiceLinePretaxCreditAmount",
    "InvoiceLinePricing",
    "InvoicePreview",
    "Pagination",
    "PaymentMethod",
    "ResultInfo",
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
]
