"""The balance job: credit balance and auto top-up config (one call), and the spending limit when it is due.

After a successful unit the account's derived figures are stored again (`figures.refresh_balance` when only
the balance changed), so the pages read them rather than recompute them on every view.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from billing import figures
from billing.cloudflare import BillingClient
from billing.models import (
    Account,
    AccountSummary,
    AlertEvent,
    AutoTopUpConfig,
    BalanceSnapshot,
    SpendingLimit,
    SyncJob,
    SyncRun,
)
from billing.money import balance_to_dollars, cents_to_dollars, timestamp_to_datetime
from billing.sync.runs import UnitResult, run_unit, text
from billing.sync.slots import slot_number

logger = logging.getLogger("billing.sync")


def balance_units(account: Account, *, always_fetch_limit: bool = False) -> list[UnitResult]:
    """The balance job for one account: the balance, then the spending limit when due (or always). Most sweeps
    make one call per account; the stored figures are refreshed once, after them."""
    balance = run_unit(SyncJob.BALANCE, account, lambda client: _fetch_balance(client, account))
    results = [balance]
    limit = None
    if always_fetch_limit or (balance.succeeded and spending_limit_due(account)):
        limit = run_unit(
            SyncJob.SPENDING_LIMIT, account, lambda client: _fetch_spending_limit(client, account)
        )
        results.append(limit)
    if limit is not None and limit.succeeded:
        store_figures(account)  # a new spending limit: its figures too
    elif balance.succeeded:
        store_figures(account, balance_run=balance.run)
    return results


def sync_balance(account: Account) -> SyncRun | None:
    """One credit-balance fetch: a BalanceSnapshot and the AutoTopUpConfig (one API call).

    Returns the run (None when another run of this account's balance is in progress). A failed fetch writes
    no snapshot (never a zero balance).
    """
    result = run_unit(SyncJob.BALANCE, account, lambda client: _fetch_balance(client, account))
    if result.succeeded:
        store_figures(account, balance_run=result.run)
    return result.run


def _fetch_balance(client: BillingClient, account: Account) -> None:
    answer = client.credit_balance(account_id=account.cloudflare_id)
    taken_at = timezone.now()
    unit = settings.CLOUDFLARE_BALANCE_UNIT
    config = answer.topup_config
    auto_amount = None if config.amount is None else balance_to_dollars(config.amount, unit)
    auto_threshold = None if config.threshold is None else balance_to_dollars(config.threshold, unit)
    last_failed_at = timestamp_to_datetime(config.last_failed_at)
    card = answer.payment_method
    with transaction.atomic():
        BalanceSnapshot.objects.create(
            account=account,
            taken_at=taken_at,
            balance=balance_to_dollars(answer.balance, unit),
            has_default_payment_method=answer.has_default_payment_method,
            payment_method_brand=text(card.brand if card else None, 32),
            payment_method_last4=text(card.last4 if card else None, 4),
            first_topup_success=answer.first_topup_success,
            auto_topup_amount=auto_amount,
            auto_topup_threshold=auto_threshold,
            auto_topup_error=text(config.error, 500),
            auto_topup_disabled_reason=text(config.disabled_reason, 500),
            auto_topup_last_failed_at=last_failed_at,
        )
        AutoTopUpConfig.objects.update_or_create(
            account=account,
            defaults={
                "amount": auto_amount,
                "threshold": auto_threshold,
                "error": text(config.error, 500),
                "disabled_reason": text(config.disabled_reason, 500),
                "last_failed_at": last_failed_at,
                "synced_at": taken_at,
            },
        )


def store_figures(account: Account, balance_run: SyncRun | None = None) -> None:
    """Stores the account's derived figures for the pages, now that its data changed; after a balance run
    alone, only what a balance changes (the spend figures stay, unless they are due again)."""
    try:
        if balance_run is not None:
            figures.refresh_balance(account, balance_run.finished_at)
        else:
            figures.refresh_summary(account)
    except Exception:
        # The pages then compute the figures from the history (or show the previous ones) until the next sync.
        logger.exception("could not store the figures of account %s (the sync itself succeeded)", account)


def sync_spending_limit(account: Account) -> SyncRun | None:
    """One spending-limit fetch into SpendingLimit (amounts: integer cents on the wire)."""
    result = run_unit(SyncJob.SPENDING_LIMIT, account, lambda client: _fetch_spending_limit(client, account))
    if result.succeeded:
        store_figures(account)
    return result.run


def _fetch_spending_limit(client: BillingClient, account: Account) -> None:
    answer = client.spending_limit.get(account_id=account.cloudflare_id)
    config = answer.config
    SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": answer.enabled,
            "amount": None if config.amount is None else cents_to_dollars(config.amount),
            "duration": text(config.duration, 16),
            "strategy": text(config.strategy, 16),
            "synced_at": timezone.now(),
        },
    )


def spending_limit_due(account: Account, now: datetime | None = None) -> bool:
    """Whether the balance sweep should fetch this account's spending limit too.

    Due when never fetched, or older than SPENDING_LIMIT_REFRESH_SECONDS less a random part of up to a fifth:
    accounts added together drift apart, so the refreshes spread over sweeps instead of all landing on one.
    """
    now = now or timezone.now()
    synced_at = SpendingLimit.objects.filter(account=account).values_list("synced_at", flat=True).first()
    if synced_at is None:
        return True
    refresh = settings.SPENDING_LIMIT_REFRESH_SECONDS * random.uniform(0.8, 1.0)
    return now - synced_at >= timedelta(seconds=refresh)


@dataclass(frozen=True)
class BalanceHealth:
    """What the balance sweep knows of an account before deciding to fetch it (local tables only)."""

    last_taken_at: datetime | None  # of its latest balance snapshot
    open_alert: bool
    runway_days: Decimal | None  # None: no spend to run out of
    auto_topup_failing: bool


def healthy(health: BalanceHealth) -> bool:
    """No open alert, auto top-up not failing, and a runway over SYNC_BALANCE_HEALTHY_RUNWAY_DAYS (or no
    spend at all): such a balance cannot become news within a few sweeps."""
    if health.last_taken_at is None or health.open_alert or health.auto_topup_failing:
        return False
    return health.runway_days is None or health.runway_days > settings.SYNC_BALANCE_HEALTHY_RUNWAY_DAYS


def balance_due(account_pk: int, health: BalanceHealth, slot: datetime, now: datetime | None = None) -> bool:
    """Whether the balance sweep of the slot starting at `slot` fetches this account.

    Every sweep for an account that is not `healthy`; a healthy one every SYNC_BALANCE_HEALTHY_EVERY sweeps,
    on the sweeps whose slot number matches its pk modulo that (so healthy accounts split evenly over the
    sweeps instead of all landing on one), or on any sweep once its snapshot is older than that many
    intervals and a half (a sweep was missed).
    """
    every = max(1, settings.SYNC_BALANCE_HEALTHY_EVERY)
    interval = max(1, settings.SYNC_BALANCE_INTERVAL)
    if every == 1 or not healthy(health) or health.last_taken_at is None:  # (healthy: it is not None)
        return True
    now = now or timezone.now()
    if now - health.last_taken_at >= timedelta(seconds=interval * (every + 0.5)):
        return True
    return (slot_number(slot, interval) - account_pk) % every == 0


def balance_due_ids(account_ids: list[int], slot: datetime, now: datetime | None = None) -> list[int]:
    """The accounts of `account_ids` whose balance this sweep fetches (see `balance_due`), in a fixed
    number of queries."""
    health = balance_health(account_ids)
    return [pk for pk in account_ids if balance_due(pk, health[pk], slot, now)]


def balance_health(account_ids: list[int]) -> dict[int, BalanceHealth]:
    """{account pk: its BalanceHealth} in four queries."""
    taken = dict(
        BalanceSnapshot.objects.filter(account__in=account_ids)
        .values("account")
        .annotate(last=Max("taken_at"))
        .order_by()
        .values_list("account", "last")
    )
    alerting = set(
        AlertEvent.objects.open().filter(account__in=account_ids).values_list("account", flat=True)
    )
    failing = set(
        AutoTopUpConfig.objects.filter(account__in=account_ids)
        .filter(Q(error__gt="") | Q(disabled_reason__gt=""))
        .values_list("account", flat=True)
    )
    runway = dict(
        AccountSummary.objects.filter(account__in=account_ids).values_list("account", "runway_days")
    )
    return {
        pk: BalanceHealth(taken.get(pk), pk in alerting, runway.get(pk), pk in failing) for pk in account_ids
    }
