"""A spend-limit rule as a person asks for it (`RuleDraft`; which rule a form showed: `RuleRef`), its wire
form, and whether it would refuse traffic at once (`over_spend`): what the rule editor works out before
anything is sent to Cloudflare (`gateway_rules.py` sends it)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing.cloudflare import SpendLimitRule
from billing.figures.rule_windows import RuleWindow, draft_window, seen_models_and_providers
from billing.models import Account, GatewayRule
from billing.operations.errors import OperationError


@dataclass(frozen=True)
class RuleDraft:
    """A rule as a person asked for it: budget in dollars, window in seconds, scope (None: every one)."""

    limit: Decimal
    window_seconds: int
    technique: str
    models: tuple[str, ...] | None = None
    providers: tuple[str, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    # Cloudflare's `id` of a new rule, as the person named it; empty: Cloudflare names it.
    name: str = ""


@dataclass(frozen=True)
class RuleRef:
    """A rule as the form showed it: its position, and Cloudflare's id when it has one."""

    position: int
    rule_id: str = ""


@dataclass(frozen=True)
class OverSpend:
    """The rule's window has already spent at least its new budget: traffic it covers is refused at once."""

    limit: Decimal
    window: RuleWindow
    window_seconds: int
    technique: str


class ConfirmationNeeded(OperationError):
    """The change would refuse traffic at once; ask the person, then call again with `confirmed=True`."""

    def __init__(self, over_spend: OverSpend) -> None:
        super().__init__(
            f"This window has already spent ${over_spend.window.spend:.2f}, at least the new budget of "
            f"${over_spend.limit:.2f}: Cloudflare would refuse the traffic this rule covers at once."
        )
        self.over_spend = over_spend


def draft_of(rule: GatewayRule) -> RuleDraft:
    """A local rule row as a draft (what an edit form starts from)."""
    return RuleDraft(
        limit=rule.limit,
        window_seconds=rule.window_seconds,
        technique=rule.technique,
        models=tuple(rule.models_filter) or None,
        providers=tuple(rule.providers_filter) or None,
        metadata=dict(rule.metadata or {}),
        enabled=rule.enabled,
    )


# ------------------------------------------------------------------------------------------- over-spending
def over_spend(
    account: Account, gateway_id: str, draft: RuleDraft, existing: GatewayRule | None
) -> OverSpend | None:
    """The window spend when it is already at least the draft's budget (so traffic would be refused at once),
    else None. The rule's stored window spend when its window and scope are unchanged, else local analytics.
    Rules scoped by metadata are not checked: analytics has no metadata to read their spend from."""
    if not draft.enabled or draft.metadata:
        return None
    now = timezone.now()
    if (
        existing is not None
        and existing.window_spend is not None
        and existing.resets_at is not None  # (stored together with the spend)
        and _same_window(existing, draft)
    ):
        window = RuleWindow(
            now, existing.resets_at, existing.window_spend, existing.used_percent, existing.state
        )
    else:
        window = draft_window(
            account,
            gateway_id,
            window_seconds=draft.window_seconds,
            technique=draft.technique,
            models=draft.models,
            providers=draft.providers,
            limit=draft.limit,
            now=now,
        )
    if window.spend is None or window.spend <= 0 or draft.limit > window.spend:
        return None
    return OverSpend(draft.limit, window, draft.window_seconds, draft.technique)


def ask_when_over_spent(
    account: Account, gateway_id: str, draft: RuleDraft, existing: GatewayRule | None
) -> None:
    found = over_spend(account, gateway_id, draft, existing)
    if found is not None:
        raise ConfirmationNeeded(found)


def _same_window(rule: GatewayRule, draft: RuleDraft) -> bool:
    return (
        rule.window_seconds == draft.window_seconds
        and rule.technique == draft.technique
        and tuple(rule.models_filter) == (draft.models or ())
        and tuple(rule.providers_filter) == (draft.providers or ())
    )


def never_seen(account: Account, draft: RuleDraft) -> list[str]:
    """A warning for each model or provider of the draft that the account's analytics never saw (a typo
    makes a rule that never matches), with the closest name seen when there is one."""
    seen_models, seen_providers = seen_models_and_providers(account)
    warnings = []
    for names, seen in ((draft.models or (), seen_models), (draft.providers or (), seen_providers)):
        for name in names:
            if name in seen:
                continue
            close = difflib.get_close_matches(name, seen, n=1, cutoff=0.6)
            hint = f" — did you mean {close[0]}?" if close else "."
            warnings.append(f"No traffic seen for ‘{name}’ on this account{hint}")
    return warnings


def rule_from_draft(draft: RuleDraft) -> SpendLimitRule:
    return SpendLimitRule(
        id=draft.name or None,
        limit=draft.limit,
        window=draft.window_seconds,
        technique=draft.technique,
        enabled=draft.enabled,
        models=draft.models or None,
        providers=draft.providers or None,
        metadata=dict(draft.metadata),
    )
