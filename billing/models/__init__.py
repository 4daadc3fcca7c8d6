"""Local mirror of Cloudflare billing state, plus what the portal adds: access, top-ups, audit, sync runs,
alerts. One module per family of tables; import them from here.

Money columns are Decimal in the major unit of their currency (US dollars unless a row says otherwise),
except where a name ends in `_cents`. Datetimes are aware and stored in UTC.
"""

from billing.models.accounts import (
    Account,
    AccountAccess,
    Role,
)
from billing.models.alerts import (
    AlertEvent,
    AlertKind,
    AlertRule,
)
from billing.models.api_tokens import (
    ApiRequestCount,
    ApiToken,
)
from billing.models.audit import (
    AppendOnlyError,
    AuditAction,
    AuditEntry,
    AuditOutcome,
)
from billing.models.channels import (
    AlertSubscription,
    ChannelKind,
    Delivery,
    DeliveryState,
    NotificationChannel,
    PortalAlert,
    PortalAlertKind,
)
from billing.models.cost_centers import CostCenter
from billing.models.digests import (
    DigestFrequency,
    DigestRun,
    NotificationSettings,
)
from billing.models.fields import (
    money_field,
)
from billing.models.gateways import (
    AnalyticsSettings,
    Gateway,
    GatewayRule,
    GatewaySpendDay,
    GatewaySpendHour,
    RuleState,
    RuleTechnique,
)
from billing.models.history import (
    AccountSummary,
    AutoTopUpConfig,
    BalanceSnapshot,
    Invoice,
    InvoiceListing,
    InvoicePreview,
    InvoicePreviewLine,
    InvoiceType,
    LimitDuration,
    LimitStrategy,
    SpendingLimit,
    UsageRecord,
    UsageWindow,
)
from billing.models.invoice_lines import InvoiceLine
from billing.models.ledger import (
    LedgerDay,
    LedgerState,
)
from billing.models.people import (
    AccessGeneration,
    Invitation,
)
from billing.models.runs import (
    ApiCallCount,
    SweepSlot,
    SyncJob,
    SyncOutcome,
    SyncRun,
)
from billing.models.sso import (
    SsoIdentity,
    SsoRoleMapping,
)
from billing.models.topups import (
    TopUp,
    TopUpRange,
    TopUpStatus,
)
from billing.models.two_factor import (
    Authenticator,
    ProviderSecondFactor,
    RecoveryCode,
    RecoveryCodes,
)
from billing.models.writes import (
    WriteIntent,
    WriteOutcome,
)

__all__ = [
    "AccessGeneration",
    "Account",
    "AccountAccess",
    "AccountSummary",
    "AlertEvent",
    "AlertKind",
    "AlertRule",
    "AlertSubscription",
    "AnalyticsSettings",
    "ApiCallCount",
    "ApiRequestCount",
    "ApiToken",
    "AppendOnlyError",
    "AuditAction",
    "AuditEntry",
    "AuditOutcome",
    "Authenticator",
    "AutoTopUpConfig",
    "BalanceSnapshot",
    "ChannelKind",
    "CostCenter",
    "Delivery",
    "DeliveryState",
    "DigestFrequency",
    "DigestRun",
    "Gateway",
    "GatewayRule",
    "GatewaySpendDay",
    "GatewaySpendHour",
    "Invitation",
    "Invoice",
    "InvoiceLine",
    "InvoiceListing",
    "InvoicePreview",
    "InvoicePreviewLine",
    "InvoiceType",
    "LedgerDay",
    "LedgerState",
    "LimitDuration",
    "LimitStrategy",
    "NotificationChannel",
    "NotificationSettings",
    "PortalAlert",
    "PortalAlertKind",
    "ProviderSecondFactor",
    "RecoveryCode",
    "RecoveryCodes",
    "Role",
    "RuleState",
    "RuleTechnique",
    "SpendingLimit",
    "SsoIdentity",
    "SsoRoleMapping",
    "SweepSlot",
    "SyncJob",
    "SyncOutcome",
    "SyncRun",
    "TopUp",
    "TopUpRange",
    "TopUpStatus",
    "UsageRecord",
    "UsageWindow",
    "WriteIntent",
    "WriteOutcome",
    "money_field",
]
