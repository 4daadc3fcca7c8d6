"""Every action a person starts that may call Cloudflare: top-ups (and their reconciliation), auto top-up,
the spending limit, gateway spend-limit rules, and "Refresh now".

Each one calls Cloudflare through `billing.clients`, writes an audit entry through `billing.audit` (who,
account, action, parameters, outcome, API error), and on success updates the local mirror rows so pages show
the new state at once. Views act only through this package.
"""

from billing.operations.auto_topup import auto_topup_refusal, remove_auto_topup, set_auto_topup
from billing.operations.changes import UNKNOWN_MESSAGE, WriteResult
from billing.operations.errors import OperationError, ai_gateway_dashboard_url, describe_error
from billing.operations.gateway_rules import (
    GatewayChanged,
    RuleChange,
    RuleChangeResult,
    TooManyRules,
    add_rule,
    edit_rule,
    enable_spend_limits,
    remove_rule,
    set_rule_enabled,
)
from billing.operations.refresh import REFRESHES_ASKED, is_waiting, latest_refresh, queue_refresh, run_refresh
from billing.operations.rule_drafts import (
    ConfirmationNeeded,
    OverSpend,
    RuleDraft,
    RuleRef,
    draft_of,
    never_seen,
)
from billing.operations.spending_limit import (
    remove_spending_limit,
    set_spending_limit,
    spending_limit_refusal,
)
from billing.operations.topups import (
    FIRST_STATUS_CHECK_SECONDS,
    FOLLOW_GAPS_SECONDS,
    TopUpResult,
    UnsettledTopUps,
    check_topup_now,
    due_topups,
    fee_cents,
    follow_topup,
    needs_check,
    poll_due_topups,
    poll_topup,
    start_topup,
    unsettled_topups,
)
from billing.operations.writes import (
    recently_settled,
    settle_unknown_writes,
    settle_write,
    unsettled_writes,
)

__all__ = [
    "FIRST_STATUS_CHECK_SECONDS",
    "FOLLOW_GAPS_SECONDS",
    "REFRESHES_ASKED",
    "UNKNOWN_MESSAGE",
    "ConfirmationNeeded",
    "GatewayChanged",
    "OperationError",
    "OverSpend",
    "RuleChange",
    "RuleChangeResult",
    "RuleDraft",
    "RuleRef",
    "TooManyRules",
    "TopUpResult",
    "UnsettledTopUps",
    "WriteResult",
    "add_rule",
    "ai_gateway_dashboard_url",
    "auto_topup_refusal",
    "check_topup_now",
    "describe_error",
    "draft_of",
    "due_topups",
    "edit_rule",
    "enable_spend_limits",
    "fee_cents",
    "follow_topup",
    "is_waiting",
    "latest_refresh",
    "needs_check",
    "never_seen",
    "poll_due_topups",
    "poll_topup",
    "queue_refresh",
    "recently_settled",
    "remove_auto_topup",
    "remove_rule",
    "remove_spending_limit",
    "run_refresh",
    "set_auto_topup",
    "set_rule_enabled",
    "set_spending_limit",
    "settle_unknown_writes",
    "settle_write",
    "spending_limit_refusal",
    "start_topup",
    "unsettled_topups",
    "unsettled_writes",
]
