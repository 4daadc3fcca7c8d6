"""Storing a gateway as Cloudflare answered it (after a rule change), so the pages show the change at once.

To move to the gateway sync (`billing/sync/gateways.py`) once that exists: it is the same idempotent upsert.
A rule keeps its stored window figures when its window and scope are unchanged (its spend is the same
traffic's); its % used and state then follow its new budget until the next analytics sync recomputes them.
"""

import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from billing.cloudflare import Gateway as RemoteGateway
from billing.cloudflare import SpendLimitRule
from billing.models import Account, Gateway, GatewayRule, RuleState, RuleTechnique

# Above this share of its budget a rule is "nearly used" (the alert's default threshold).
NEARLY_USED_PERCENT = Decimal(80)


def store_gateway(account: Account, gateway: RemoteGateway) -> Gateway:
    """Upserts the gateway and replaces its rules (in Cloudflare's order); returns the stored gateway."""
    now = timezone.now()
    with transaction.atomic():
        row, _ = Gateway.objects.update_or_create(
            account=account,
            gateway_id=gateway.id,
            defaults={
                "is_default": bool(gateway.is_default),
                "spend_limits_enabled": gateway.spend_limits.enabled,
                "created_at": gateway.created_at,
                "modified_at": gateway.modified_at,
                "raw": json.loads(json.dumps(dict(gateway.raw), cls=DjangoJSONEncoder)),
                "synced_at": now,
            },
        )
        previous = {rule.rule_id: rule for rule in row.rules.all() if rule.rule_id}
        row.rules.all().delete()
        GatewayRule.objects.bulk_create(
            _rule_row(row, position, rule, previous.get(rule.id or ""))
            for position, rule in enumerate(gateway.spend_limits.rules)
        )
    return row


def _rule_row(
    gateway: Gateway, position: int, rule: SpendLimitRule, previous: GatewayRule | None
) -> GatewayRule:
    row = GatewayRule(
        gateway=gateway,
        position=position,
        rule_id=rule.id or "",
        limit=rule.limit,
        window_seconds=rule.window,
        technique=rule.technique or RuleTechnique.FIXED,
        enabled=rule.enabled is not False,
        models_filter=list(rule.models or ()),
        providers_filter=list(rule.providers or ()),
        metadata=json.loads(json.dumps(dict(rule.metadata), cls=DjangoJSONEncoder)),
    )
    if previous is not None and previous.window_spend is not None and _same_scope(previous, row):
        row.window_spend = previous.window_spend
        row.resets_at = previous.resets_at
        row.computed_at = previous.computed_at
        row.used_percent = (previous.window_spend * 100 / row.limit).quantize(Decimal("0.1"))
        row.state = _state(row.used_percent)
    return row


def _same_scope(a: GatewayRule, b: GatewayRule) -> bool:
    return (a.window_seconds, a.technique, a.models_filter, a.providers_filter, a.metadata) == (
        b.window_seconds,
        b.technique,
        b.models_filter,
        b.providers_filter,
        b.metadata,
    )


def _state(used_percent: Decimal) -> str:
    if used_percent >= 100:
        return RuleState.EXCEEDED
    return RuleState.NEARLY_USED if used_percent >= NEARLY_USED_PERCENT else RuleState.OK
