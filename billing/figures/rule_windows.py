"""A spend-limit rule's current window, from the local gateway spend only.

Windows, as Cloudflare's gateways count them: `fixed` is the calendar-aligned block of `window_seconds` since
the Unix epoch that contains now (it resets at its end); `sliding` is the last `window_seconds` (it frees up
gradually as old spend leaves it: `resets_at` is approximated as now plus one hour, the granularity of the
history). A rule is enforced up to the request, so its window reads up to now, in three parts:
- the complete hours inside the window, read as every range of gateway spend is read
  (`gateway_spend.cost_between`: day rows for whole UTC days, hour rows for cut ones; a window reaching past
  the hourly history, GATEWAY_SPEND_BACKFILL_DAYS, counts whole UTC days from there and leaves out the cut
  day whose hours are gone);
- the hour the window starts inside, in proportion to the part of it (as far as it has elapsed) that lies in
  the window: an hour's spend is taken as spread evenly;
- the hour under way, whole (its spend so far).
The ranges the pages show ("Last 7 days") end with the last complete hour instead and count no part-hour, so a
sliding 7-day rule reads the same as "Last 7 days" when computed on the hour, and otherwise differs by the
hour under way and the part of its first hour that has left the window.
The spend is Cloudflare's analytics estimate (it lags a few minutes), so the state is a close reading of the
limit Cloudflare enforces, not the enforcement itself. A rule with metadata partitions has one budget per
value, which analytics does not show: its state is "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from billing.figures.gateway_spend import HOUR, cost_between, floor_hour, hour_rows, hourly_history_start
from billing.models import (
    Account,
    Gateway,
    GatewayRule,
    GatewaySpendDay,
    GatewaySpendHour,
    RuleState,
    RuleTechnique,
)

# The state thresholds, in % of the limit (alert rules may make them configurable later).
NEARLY_USED_PERCENT = Decimal(80)
EXCEEDED_PERCENT = Decimal(100)
CENT = Decimal("0.000001")
# Analytics cost is an estimate (within a few % of what is billed): a rule Cloudflare holds at its limit may
# read 98 %. Refused requests (HTTP 429) are counted as errored: a rule this close to its limit whose traffic
# errors this much over the last RECENT hours is read as exceeded.
ESTIMATE_MARGIN_PERCENT = Decimal("2.5")
REFUSING_ERROR_SHARE = Decimal("0.10")
RECENT = timedelta(hours=2)


@dataclass(frozen=True)
class RuleWindow:
    start: datetime
    resets_at: datetime
    spend: Decimal | None
    used_percent: Decimal | None
    state: str


def window_bounds(technique: str, window_seconds: int, now: datetime) -> tuple[datetime, datetime]:
    """(start, resets_at) of the window containing `now`."""
    seconds = max(int(window_seconds), 1)
    if technique != RuleTechnique.FIXED:  # sliding, also when the rule does not say (Cloudflare's default)
        return now - timedelta(seconds=seconds), now + HOUR
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
    return start, start + timedelta(seconds=seconds)


def state_for(used_percent: Decimal | None, refusing: bool = False) -> str:
    """The state of a rule at `used_percent` of its limit; `refusing`: its traffic errors as refused traffic
    does (see REFUSING_ERROR_SHARE)."""
    if used_percent is None:
        return RuleState.UNKNOWN
    if used_percent >= EXCEEDED_PERCENT or (
        refusing and used_percent >= EXCEEDED_PERCENT - ESTIMATE_MARGIN_PERCENT
    ):
        return RuleState.EXCEEDED
    if used_percent >= NEARLY_USED_PERCENT:
        return RuleState.NEARLY_USED
    return RuleState.OK


def window_spend(rule: GatewayRule, start: datetime, now: datetime) -> tuple[Decimal, bool]:
    """The rule's spend from `start` to `now` (its gateway, models and providers), in dollars (see the
    module), and whether its traffic of the last RECENT hours errored as refused traffic does."""
    scope = {
        "gateway": rule.gateway.gateway_id,
        "models": rule.models_filter,
        "providers": rule.providers_filter,
    }
    first, running = floor_hour(start), floor_hour(now)
    complete_from = first if first == start else first + HOUR
    total = Decimal(0)
    if complete_from < running:
        total += cost_between(
            rule.gateway.account_id, complete_from, running, hourly_history_start(now), **scope
        )
    rows = hour_rows(rule.gateway.account_id, **scope).filter(hour__gte=first, hour__lte=now)
    sums = rows.filter(Q(hour__in=(first, running)) | Q(hour__gte=now - RECENT)).aggregate(
        under_way=Sum("cost", filter=Q(hour=running, hour__gte=start)),
        cut=Sum("cost", filter=Q(hour=first, hour__lt=start)),
        recent=Sum("requests", filter=Q(hour__gte=now - RECENT)),
        errored=Sum("errored_requests", filter=Q(hour__gte=now - RECENT)),
    )
    total += Decimal(sums["under_way"] or 0)
    if sums["cut"]:
        elapsed = min(first + HOUR, now) - first
        total += Decimal(sums["cut"]) * Decimal((first + elapsed - start) / elapsed)
    recent = sums["recent"] or 0
    refusing = recent > 0 and Decimal(sums["errored"] or 0) / recent >= REFUSING_ERROR_SHARE
    return total.quantize(CENT), refusing


def rule_window(rule: GatewayRule, now: datetime) -> RuleWindow:
    start, resets_at = window_bounds(rule.technique, rule.window_seconds, now)
    if any(
        spec.get("mode") == "partition" for spec in (rule.metadata or {}).values() if isinstance(spec, dict)
    ):
        return RuleWindow(start, resets_at, None, None, RuleState.UNKNOWN)
    spend, refusing = window_spend(rule, start, now)
    used = (spend / rule.limit * 100).quantize(Decimal("0.1")) if rule.limit > 0 else None
    return RuleWindow(start, resets_at, spend, used, state_for(used, refusing))


def refresh_rule_windows(account: Account, now: datetime | None = None) -> int:
    """Computes and stores every rule's current window for the account; returns how many rules."""
    now = now or timezone.now()
    rules = list(GatewayRule.objects.filter(gateway__account=account).select_related("gateway"))
    for rule in rules:
        window = rule_window(rule, now)
        rule.window_spend = window.spend
        rule.used_percent = window.used_percent
        rule.state = window.state
        rule.resets_at = window.resets_at
        rule.computed_at = now
    GatewayRule.objects.bulk_update(
        rules, ["window_spend", "used_percent", "state", "resets_at", "computed_at"], batch_size=200
    )
    return len(rules)


def draft_window(
    account: Account,
    gateway_id: str,
    *,
    window_seconds: int,
    technique: str,
    models: Iterable[str] | None,
    providers: Iterable[str] | None,
    limit: Decimal,
    now: datetime,
) -> RuleWindow:
    """The current window of a rule not saved yet (the editor's draft), read as a stored rule's is."""
    rule = GatewayRule(
        gateway=Gateway(account_id=account.pk, gateway_id=gateway_id),
        limit=limit,
        window_seconds=window_seconds,
        technique=technique or RuleTechnique.SLIDING,
        models_filter=list(models or ()),
        providers_filter=list(providers or ()),
    )
    return rule_window(rule, now)


def seen_models_and_providers(account: Account, gateway_id: str | None = None) -> tuple[list[str], list[str]]:
    """The models and providers local analytics have seen on this gateway (hours and days), sorted; on any
    of the account's gateways when `gateway_id` is None."""
    found_models: set[str] = set()
    found_providers: set[str] = set()
    for table in (GatewaySpendHour, GatewaySpendDay):
        rows = table.objects.filter(account=account)
        if gateway_id is not None:
            rows = rows.filter(gateway=gateway_id)
        pairs = rows.values_list("model", "provider")
        for model, provider in pairs.distinct():
            if model:
                found_models.add(model)
            if provider:
                found_providers.add(provider)
    return sorted(found_models), sorted(found_providers)
