"""Reading the gateway-rule alert: one Check per spend-limit rule of the account's gateways, keyed by subject
("<gateway>/<rule id or position>"), from each rule's stored window figures (computed after analytics syncs).

A rule whose figures are not computed yet is unknown (None): its alert, if any, stays as it is. A rule that is
switched off, or on a gateway whose spend limits are off, refuses nothing: its alert clears.
"""

from datetime import UTC
from decimal import Decimal

from billing import display
from billing.alerts.checks import Check, Reading
from billing.alerts.levels import Scale
from billing.display import rule_resets, rule_window
from billing.models import AlertEvent, AlertRule, GatewayRule
from billing.money import format_money as money_text


def _scope(rule: GatewayRule) -> str:
    parts = [
        f"models {', '.join(rule.models_filter)}" if rule.models_filter else "every model",
        f"providers {', '.join(rule.providers_filter)}" if rule.providers_filter else "every provider",
    ]
    parts += [f"metadata {key}: {scope.get('mode', '')}" for key, scope in (rule.metadata or {}).items()]
    return "; ".join(parts)


def _details(rule: GatewayRule) -> dict:
    account_id = rule.gateway.account.cloudflare_id
    fixed = rule.technique == "fixed"
    return {
        "gateway": rule.gateway.gateway_id,
        "rule": rule.rule_id or f"rule {rule.position + 1}",
        "limit": str(rule.limit),
        "budget": money_text(rule.limit),
        "window": rule_window(rule.window_seconds),
        "window_seconds": rule.window_seconds,
        "technique": rule.get_technique_display(),
        "scope": _scope(rule),
        "window_spend": str(rule.window_spend) if rule.window_spend is not None else None,
        "spent": money_text(rule.window_spend),
        "used_percent": str(rule.used_percent) if rule.used_percent is not None else None,
        "state": rule.state,
        # A sliding window has no reset time (the stored one is only when its figures are read again).
        "resets_at": rule.resets_at.isoformat() if rule.resets_at and fixed else None,
        "resets_at_utc": (
            f"{rule.resets_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if rule.resets_at and fixed else None
        ),
        "resets": rule_resets(rule.technique, rule.resets_at, rule.window_seconds),
        "editor_path": f"/accounts/{account_id}/gateways/{rule.gateway.gateway_id}/rules/",
    }


def check_gateway_rule(rule: GatewayRule, alert: AlertRule, account_name: str, scale: Scale) -> Check | None:
    """One rule's reading against the alert rule's threshold (percent of the budget used in the window)."""
    details = _details(rule)
    label = f"{account_name} / {details['gateway']} {details['rule']}"
    if not rule.enabled or not rule.gateway.spend_limits_on:
        return Check(False, True, f"Gateway rule off: {label}", "switched off", details)
    if rule.used_percent is None:
        return None
    used = Decimal(rule.used_percent)
    shown = display.percent(used)  # rounded down: "100%" is never said of a rule short of its budget
    exceeded = used >= 100
    word = "exceeded" if exceeded else "nearly used"
    reached = scale.reached(alert, used)
    level = scale.level(alert, reached)
    return Check(
        firing=reached > 0,
        cleared=scale.clears(alert, used),
        headline=(
            f"Gateway rule {word}: {label} has spent {details['spent']} of {details['budget']} "
            f"per {details['window']} ({shown})" + (f", {level.words}" if level else "")
        ),
        value=f"{shown} used",
        details=details,
        level=reached,
    )


def check_gateway_rules(reading: Reading, alert: AlertRule, scale: Scale) -> dict[str, Check | None]:
    """{subject: the rule's reading} for every rule of the account's gateways."""
    rules = GatewayRule.objects.filter(gateway__account=reading.account).select_related("gateway__account")
    return {rule.subject: check_gateway_rule(rule, alert, reading.account.name, scale) for rule in rules}


def rule_states(events: list[AlertEvent]) -> dict[tuple[int, str], str]:
    """{(account id, subject): the rule's current state} for the open alerts among `events` (all of this
    kind), in one query (none when there are none)."""
    wanted = [event for event in events if event.is_open]
    if not wanted:
        return {}
    rules = GatewayRule.objects.select_related("gateway").filter(
        gateway__account_id__in={e.account_id for e in wanted},
        gateway__gateway_id__in={e.subject.split("/", 1)[0] for e in wanted},
    )
    return {(rule.gateway.account_id, rule.subject): rule.state for rule in rules}
