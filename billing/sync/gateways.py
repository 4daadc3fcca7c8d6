"""The gateways job: the account's AI gateways and their spend-limit rules, mirrored locally (one listing,
every page), refreshed hourly from the usage job (`gateways_due`) and callable right after a change.

A gateway is upserted by (account, gateway id); its rules are replaced as a whole (a rule has no stable key
on the wire: its id is optional); a gateway no longer listed is deleted with its rules. After each sync the
rules' current windows are computed again from the local spend (`figures.rule_windows.refresh_rule_windows`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.cloudflare import DEFAULT_TECHNIQUE, BillingClient, SpendLimitRule
from billing.cloudflare import Gateway as RemoteGateway
from billing.figures.rule_windows import refresh_rule_windows
from billing.models import Account, Gateway, GatewayRule, SyncJob, SyncOutcome, SyncRun
from billing.sync.runs import UnitResult, run_unit, text

logger = logging.getLogger("billing.sync")


def gateway_unit(account: Account) -> UnitResult:
    """The gateways unit for one account (the listing, every page), without the rules' windows."""
    return run_unit(SyncJob.GATEWAYS, account, lambda client: fetch_gateways(client, account))


def gateway_units(account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    """The gateways job for one account, then its rules' windows; `backfill_days` is unused."""
    result = gateway_unit(account)
    if result.succeeded:
        refresh_windows(account)
    return [result]


def sync_gateways(account: Account) -> SyncRun | None:
    """Reads the account's gateways now (e.g. right after a rule was changed) and stores them; returns the
    run (None when another run of this job for the account was in progress)."""
    return gateway_units(account)[0].run


def refresh_windows(account: Account) -> None:
    try:
        refresh_rule_windows(account)
    except Exception:
        # The page then shows the previous figures (with their time) until the next sync.
        logger.exception("could not compute the rule windows of account %s (the sync succeeded)", account)


def gateways_due(account: Account, now: datetime | None = None) -> bool:
    """Whether the usage job should read this account's gateways too: never read, or last read more than
    GATEWAYS_REFRESH_SECONDS ago less a random part of up to a fifth (so refreshes spread over sweeps)."""
    now = now or timezone.now()
    last = (
        SyncRun.objects.filter(account=account, job=SyncJob.GATEWAYS, outcome=SyncOutcome.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if last is None:
        return True
    refresh = settings.GATEWAYS_REFRESH_SECONDS * random.uniform(0.8, 1.0)
    return now - last >= timedelta(seconds=refresh)


def fetch_gateways(client: BillingClient, account: Account) -> None:
    """Lists the account's gateways (one call per page of them) and stores them."""
    gateways = client.ai_gateway.list(account_id=account.cloudflare_id)
    store_gateways(account, gateways, timezone.now())


def store_gateways(account: Account, gateways: Iterable[RemoteGateway], synced_at: datetime) -> int:
    """Mirrors these gateways (as the client returns them) for the account: upserts each, replaces its
    rules, deletes the gateways not among them. Returns how many gateways are stored."""
    with transaction.atomic():
        kept = [store_gateway(account, remote, synced_at).pk for remote in gateways]
        Gateway.objects.filter(account=account).exclude(pk__in=kept).delete()
    return len(kept)


def store_gateway(account: Account, remote: RemoteGateway, synced_at: datetime | None = None) -> Gateway:
    """Upserts one gateway as Cloudflare answered it (the listing, or the answer to a rule change) and
    replaces its rules; returns the stored row. The rules' windows are computed afterwards."""
    with transaction.atomic():
        local, _ = Gateway.objects.update_or_create(
            account=account,
            gateway_id=text(remote.id, 128),
            defaults={
                "is_default": bool(remote.is_default),
                "spend_limits_enabled": remote.spend_limits.enabled,
                "created_at": remote.created_at,
                "modified_at": remote.modified_at,
                "raw": json_safe(remote.raw),
                "synced_at": synced_at or timezone.now(),
            },
        )
        _replace_rules(local, remote.spend_limits.rules)
    return local


def json_safe(value: object) -> object:
    """`value` with its Decimals (the client parses fractional numbers exactly) as their exact text."""
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return str(value) if isinstance(value, Decimal) else value


def _replace_rules(gateway: Gateway, rules: Iterable[SpendLimitRule]) -> None:
    GatewayRule.objects.filter(gateway=gateway).delete()
    GatewayRule.objects.bulk_create(
        GatewayRule(
            gateway=gateway,
            position=position,
            rule_id=text(rule.id, 128),
            limit=rule.limit,
            window_seconds=rule.window,
            technique=rule.technique or DEFAULT_TECHNIQUE,  # absent: sliding, as Cloudflare reads it
            enabled=rule.enabled is not False,
            models_filter=list(rule.models or ()),
            providers_filter=list(rule.providers or ()),
            metadata=json_safe(rule.metadata),
        )
        for position, rule in enumerate(rules)
    )
