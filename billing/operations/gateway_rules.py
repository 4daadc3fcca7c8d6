"""A gateway's spend-limit rules: add, edit, switch on or off, and remove one, and switch the gateway's spend
limits on; audited, once per form.

Cloudflare's gateway update replaces the whole gateway, so every change reads the gateway fresh, changes only
its `spend_limits`, and sends every other field back as read. The form carries the `modified_at` it was shown
with; when the fresh read differs, someone changed the gateway in between and nothing is sent. The intent key
of the form is stored (unique) before Cloudflare is called, so a form posted twice sends one PUT. A PUT whose
answer was lost is recorded as "unknown" and never sent again: the next sync tells what Cloudflare kept.

Cloudflare enforces a gateway's rules only while its `spend_limits.enabled` is true, and reads it as false
when absent, so every change that adds or switches on a rule sends `enabled: true` explicitly; other changes
send it back as read. A gateway holds at most GATEWAY_RULES_MAX rules: one more is refused before anything
is sent.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from billing import audit, display
from billing.clients import client_for
from billing.cloudflare import (
    AuthenticationError,
    CloudflareError,
    OutcomeUnknownError,
    SpendLimitRule,
    SpendLimits,
)
from billing.limits import GATEWAY_RULES_MAX
from billing.models import (
    Account,
    AuditAction,
    AuditEntry,
    AuditOutcome,
    Gateway,
    GatewayRule,
    WriteIntent,
    WriteOutcome,
)
from billing.operations.errors import OperationError, describe_error
from billing.operations.rule_drafts import (
    RuleDraft,
    RuleRef,
    ask_when_over_spent,
    draft_of,
    rule_from_draft,
)
from billing.operations.writes import claim_intent, finish_intent
from billing.sync.gateways import refresh_windows, store_gateway

EDIT_PERMISSION = "AI Gateway Edit"
READ_PERMISSION = "AI Gateway Read"
UNKNOWN_MESSAGE = (
    "We don't know yet whether Cloudflare applied it: its answer was lost, and it was not sent again. A read "
    "of the gateway settles it within minutes (the next sync at the latest); check the rules before you "
    "submit it again."
)

Rules = tuple[SpendLimitRule, ...]


@dataclass(frozen=True)
class RuleChange:
    """Which gateway, as of which `modified_at` the form showed it, and the form's one-time intent key."""

    gateway_id: str
    shown_modified_at: datetime
    intent_key: uuid.UUID


@dataclass(frozen=True)
class RuleChangeResult:
    gateway: Gateway | None
    # False when this form had already been submitted (double click, re-post): nothing was sent again.
    created: bool
    outcome: str


class TooManyRules(OperationError):
    """The gateway already holds Cloudflare's maximum of rules; nothing was sent."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"This gateway already has {count} spend-limit rules, the most Cloudflare allows on one gateway "
            f"({GATEWAY_RULES_MAX}); remove one before adding another. Nothing was sent to Cloudflare."
        )
        self.count = count


class GatewayChanged(OperationError):
    """The gateway changed in Cloudflare since the form was shown; nothing was sent. `by` says who changed it
    when the portal did (from the audit log), else that it was changed outside the portal."""

    def __init__(self, gateway_id: str, modified_at: datetime, by: str = "") -> None:
        who = by or "outside the portal (Cloudflare's dashboard or API), so who did it is not known here"
        when = display.moment(modified_at, "%Y-%m-%d %H:%M:%S")
        super().__init__(
            f"The gateway {gateway_id} changed in Cloudflare at {when}"
            f" since you opened this form, {who}; nothing was sent. Review and save again."
        )
        self.modified_at = modified_at


def changed_by(account: Account, gateway_id: str, modified_at: datetime) -> str:
    """ "by ana through the portal at …" when the portal's own audited change left the gateway at
    `modified_at`; "" when no change of the portal did (it was made outside)."""
    entry = (
        AuditEntry.objects.filter(
            account=account,
            outcome=AuditOutcome.SUCCEEDED,
            parameters__gateway=gateway_id,
            parameters__modified_at=modified_at.isoformat(),
        )
        .order_by("-created_at")
        .first()
    )
    if entry is None:
        return ""
    return f"by {entry.actor_name} through the portal ({entry.get_action_display().lower()})"


# ---------------------------------------------------------------------------------------------- the changes
def add_rule(
    account: Account,
    actor: audit.Actor,
    change: RuleChange,
    draft: RuleDraft,
    *,
    confirmed: bool = False,
    ip_address: str | None = None,
) -> RuleChangeResult:
    """Appends a rule and switches the gateway's spend limits on. Raises TooManyRules (nothing sent, checked
    on the stored rules and again on Cloudflare's) when the gateway holds GATEWAY_RULES_MAX rules;
    ConfirmationNeeded (nothing sent) when its window has already spent its budget and `confirmed` is False;
    GatewayChanged or OperationError when nothing (or maybe something) was saved."""
    stored = GatewayRule.objects.filter(gateway__account=account, gateway__gateway_id=change.gateway_id)
    count = stored.count()
    if count >= GATEWAY_RULES_MAX:
        raise TooManyRules(count)
    if not confirmed:
        ask_when_over_spent(account, change.gateway_id, draft, None)
    new_rule = rule_from_draft(draft)

    def append(rules: Rules) -> Rules:
        if len(rules) >= GATEWAY_RULES_MAX:
            raise TooManyRules(len(rules))
        if new_rule.id and any(rule.id == new_rule.id for rule in rules):
            raise OperationError(f"This gateway already has a rule named {new_rule.id}: choose another name.")
        return (*rules, new_rule)

    return _apply(account, actor, AuditAction.GATEWAY_RULE_ADD, change, append, ip_address, enable=True)


def edit_rule(
    account: Account,
    actor: audit.Actor,
    change: RuleChange,
    ref: RuleRef,
    draft: RuleDraft,
    *,
    confirmed: bool = False,
    ip_address: str | None = None,
) -> RuleChangeResult:
    """Changes one rule, keeping its id and any field the portal does not know; a rule switched on by the edit
    switches the gateway's spend limits on too. Raises as `add_rule` (never TooManyRules)."""
    local = _local_rule(account, change.gateway_id, ref)
    if not confirmed:
        ask_when_over_spent(account, change.gateway_id, draft, local)
    switched_on = draft.enabled and local is not None and not local.enabled

    def edit(rules: Rules) -> Rules:
        index = _locate(rules, ref)
        changed = dataclasses.replace(rule_from_draft(draft), id=rules[index].id, raw=rules[index].raw)
        return (*rules[:index], changed, *rules[index + 1 :])

    return _apply(account, actor, AuditAction.GATEWAY_RULE_EDIT, change, edit, ip_address, enable=switched_on)


def set_rule_enabled(
    account: Account,
    actor: audit.Actor,
    change: RuleChange,
    ref: RuleRef,
    enabled: bool,
    *,
    confirmed: bool = False,
    ip_address: str | None = None,
) -> RuleChangeResult:
    """Switches one rule on or off; switching one on switches the gateway's spend limits on too, and asks
    first when its window is already spent."""
    local = _local_rule(account, change.gateway_id, ref)
    if enabled and not confirmed and local is not None:
        ask_when_over_spent(account, change.gateway_id, draft_of(local), local)

    def toggle(rules: Rules) -> Rules:
        index = _locate(rules, ref)
        return (*rules[:index], dataclasses.replace(rules[index], enabled=enabled), *rules[index + 1 :])

    return _apply(account, actor, AuditAction.GATEWAY_RULE_TOGGLE, change, toggle, ip_address, enable=enabled)


def remove_rule(
    account: Account, actor: audit.Actor, change: RuleChange, ref: RuleRef, *, ip_address: str | None = None
) -> RuleChangeResult:
    """Removes one rule; raises as `add_rule` (never ConfirmationNeeded: removing refuses nothing)."""

    def remove(rules: Rules) -> Rules:
        index = _locate(rules, ref)
        return (*rules[:index], *rules[index + 1 :])

    return _apply(account, actor, AuditAction.GATEWAY_RULE_REMOVE, change, remove, ip_address)


def enable_spend_limits(
    account: Account, actor: audit.Actor, change: RuleChange, *, ip_address: str | None = None
) -> RuleChangeResult:
    """Switches the gateway's spend limits on (`enabled: true`), its rules as read, so Cloudflare enforces
    them; raises as `add_rule` (never ConfirmationNeeded: the rules' windows are shown beside the button)."""
    return _apply(
        account,
        actor,
        AuditAction.GATEWAY_SPEND_LIMITS_ENABLE,
        change,
        lambda rules: rules,
        ip_address,
        enable=True,
    )


# --------------------------------------------------------------------------------------------- the one path
def _apply(
    account: Account,
    actor: audit.Actor,
    action: str,
    change: RuleChange,
    mutate: Callable[[Rules], Rules],
    ip_address: str | None,
    *,
    enable: bool = False,
) -> RuleChangeResult:
    """Claims the intent, reads the gateway fresh, refuses a concurrent change, sends the new spend limits
    once (`enabled: true` when `enable`, else as read), audits the outcome and stores the gateway Cloudflare
    answered with."""
    intent = claim_intent(account, actor, action, change.intent_key, {}, target=change.gateway_id)
    if intent is None:
        existing = WriteIntent.objects.get(intent_key=change.intent_key)
        local = Gateway.objects.filter(account=account, gateway_id=change.gateway_id).first()
        return RuleChangeResult(local, created=False, outcome=existing.outcome)
    parameters: dict[str, object] = {
        "gateway": change.gateway_id,
        "intent_key": str(change.intent_key),
        "shown_modified_at": change.shown_modified_at.isoformat(),
    }
    finish = _Finisher(account, actor, action, intent, parameters, ip_address)
    client = client_for(account)
    try:
        fresh = client.ai_gateway.get(change.gateway_id, account_id=account.cloudflare_id)
    except CloudflareError as exc:
        raise finish.failed(exc, permission=READ_PERMISSION) from exc
    parameters["before"] = wire_rules(fresh.spend_limits.rules)
    parameters["enabled_before"] = fresh.spend_limits.enabled
    if fresh.modified_at != change.shown_modified_at:
        store_gateway(account, fresh)
        by = changed_by(account, change.gateway_id, fresh.modified_at)
        raise finish.refused(GatewayChanged(change.gateway_id, fresh.modified_at, by))
    try:
        rules = mutate(fresh.spend_limits.rules)
    except OperationError as exc:
        raise finish.refused(exc) from None
    parameters["after"] = wire_rules(rules)
    enabled = True if enable else fresh.spend_limits.enabled
    parameters["enabled_after"] = enabled
    limits = SpendLimits(enabled=enabled, rules=rules, raw=fresh.spend_limits.raw)
    # What a later read compares with, should the answer be lost.
    asked = {"after": parameters["after"], "enabled_after": enabled}
    WriteIntent.objects.filter(pk=intent.pk).update(parameters=asked)
    intent.parameters = asked
    try:
        saved = client.ai_gateway.update_spend_limits(fresh, limits, account_id=account.cloudflare_id)
    except CloudflareError as exc:
        raise finish.failed(exc, permission=EDIT_PERMISSION) from exc
    parameters["after"] = wire_rules(saved.spend_limits.rules)
    parameters["enabled_after"] = saved.spend_limits.enabled
    parameters["modified_at"] = saved.modified_at.isoformat()
    finish.succeeded()
    stored = store_gateway(account, saved)
    refresh_windows(account)  # the new budget's % used and state, from the local spend
    return RuleChangeResult(stored, created=True, outcome=WriteOutcome.SUCCEEDED)


@dataclass
class _Finisher:
    """Records how one change ended: in the audit log and on its intent row."""

    account: Account
    actor: audit.Actor
    action: str
    intent: WriteIntent
    parameters: dict[str, object]
    ip_address: str | None

    def _record(self, outcome: str, error: str = "") -> None:
        audit.record(
            actor=self.actor,
            account=self.account,
            action=self.action,
            outcome=outcome,
            parameters=_jsonable(self.parameters),
            error=error,
            ip_address=self.ip_address,
        )
        finish_intent(self.intent, outcome, error)

    def succeeded(self) -> None:
        self._record(AuditOutcome.SUCCEEDED)

    def refused(self, error: OperationError) -> OperationError:
        """Nothing was sent: audited as failed; returns the error to raise."""
        self._record(AuditOutcome.FAILED, error.message)
        return error

    def failed(self, exc: CloudflareError, *, permission: str) -> OperationError:
        """Cloudflare refused or failed the call: audited (unknown when the answer was lost)."""
        if isinstance(exc, OutcomeUnknownError):
            self._record(AuditOutcome.UNKNOWN, exc.message)
            return OperationError(UNKNOWN_MESSAGE, unknown=True)
        message = _permission_message(exc, permission) or describe_error(exc)
        self._record(AuditOutcome.FAILED, exc.message)
        return OperationError(message)


def _permission_message(exc: CloudflareError, permission: str) -> str | None:
    if not isinstance(exc, AuthenticationError) or getattr(exc, "status_code", None) != 403:
        return None
    return (
        f"Cloudflare refused this (HTTP 403): the portal's API token lacks the “{permission}” permission "
        "on this account. Add it to the token in the Cloudflare dashboard (My Profile › API Tokens), "
        "then try again."
    )


# ------------------------------------------------------------------------------------------------- helpers
def _locate(rules: Rules, ref: RuleRef) -> int:
    """The index of the rule the form showed; raises OperationError when Cloudflare no longer has it."""
    if ref.rule_id:
        for index, rule in enumerate(rules):
            if rule.id == ref.rule_id:
                return index
    elif 0 <= ref.position < len(rules) and not rules[ref.position].id:
        return ref.position
    raise OperationError(
        "That rule is no longer on the gateway in Cloudflare; review the rules and try again."
    )


def _local_rule(account: Account, gateway_id: str, ref: RuleRef) -> GatewayRule | None:
    return GatewayRule.objects.filter(
        gateway__account=account, gateway__gateway_id=gateway_id, position=ref.position
    ).first()


def wire_rules(rules: Rules) -> list[dict]:
    """Rules as Cloudflare's JSON (amounts as strings), for the audit log."""
    return _jsonable([rule.to_wire() for rule in rules])


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
