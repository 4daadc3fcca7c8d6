"""The money-moving actions people start: top-up, auto top-up config, spending limit, and "refresh now".

Each one calls Cloudflare through `billing.api`, writes an append-only `AuditEntry` (who, account, action,
parameters, outcome, API error), and on success updates the local mirror rows so pages show the new state at
once. A top-up whose answer is lost is recorded as "unknown" and never sent again.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import figures, sync
from billing.api import client_for
from billing.cloudflare import (
    APIStatusError,
    AuthenticationError,
    CloudflareError,
    OutcomeUnknownError,
)
from billing.forms import (
    AUTO_TOPUP_AMOUNT_MIN_CENTS,
    AUTO_TOPUP_THRESHOLD_MIN_CENTS,
    TOPUP_MIN_CENTS,
    Bounds,
    portal_max_cents,
)
from billing.models import (
    Account,
    AuditAction,
    AuditEntry,
    AuditOutcome,
    AutoTopUpConfig,
    BalanceSnapshot,
    SpendingLimit,
    TopUp,
    TopUpStatus,
)
from billing.money import cents_to_dollars

logger = logging.getLogger("billing.operations")

# Cloudflare's top-up limits change rarely; a day keeps forms honest without an API call per page view.
LIMITS_CACHE_SECONDS = 24 * 3600
FIRST_STATUS_CHECK_SECONDS = 10


class OperationError(Exception):
    """Cloudflare refused or failed an action; nothing was done. `message` is fit to show to a person."""

    def __init__(self, message: str, *, dashboard_only: bool = False, unknown: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.dashboard_only = dashboard_only
        self.unknown = unknown


def describe_error(exc: CloudflareError) -> str:
    """A sentence for people: Cloudflare's own messages where it sent some, else the client's summary."""
    if isinstance(exc, AuthenticationError) and exc.dashboard_only:
        return (
            "Cloudflare accepts this change only from its dashboard, not from the portal's API token. "
            "Make the change in the Cloudflare dashboard."
        )
    if isinstance(exc, APIStatusError) and exc.errors:
        said = "; ".join(message for _, message in exc.errors if message)
        if said:
            return f"Cloudflare said: {said} (HTTP {exc.status_code})."
    return exc.message


def _operation_error(exc: CloudflareError) -> OperationError:
    return OperationError(
        describe_error(exc),
        dashboard_only=isinstance(exc, AuthenticationError) and exc.dashboard_only,
        unknown=isinstance(exc, OutcomeUnknownError),
    )


def record_audit(
    *,
    actor,
    account: Account | None,
    action: str,
    outcome: str,
    parameters: dict | None = None,
    error: str = "",
    ip_address: str | None = None,
) -> AuditEntry:
    """Append one audit entry; the actor's name and the account id are copied so they outlive deletions."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "system",
        account=account,
        account_cloudflare_id=account.cloudflare_id if account else "",
        action=action,
        parameters=parameters or {},
        outcome=outcome,
        error=error,
        ip_address=ip_address or None,
    )


# --------------------------------------------------------------------------------------------- top-up limits


def _limits_key(account: Account) -> str:
    return f"topup-limits:{account.cloudflare_id}"


def remember_topup_limits(account: Account, min_cents: int, max_cents: int) -> None:
    """Keep Cloudflare's top-up range for forms to use without an API call (sync may call this too)."""
    cache.set(_limits_key(account), (int(min_cents), int(max_cents)), LIMITS_CACHE_SECONDS)


def topup_bounds(account: Account) -> Bounds:
    """The allowed top-up range in cents: Cloudflare's last known limits, else the reference minimum; never
    above the portal's own maximum (TOPUP_MAX_DOLLARS)."""
    known = cache.get(_limits_key(account))
    low, high = known if known else (TOPUP_MIN_CENTS, None)
    ceiling = portal_max_cents()
    high = min(high, ceiling) if high else ceiling
    return Bounds(min_cents=low, max_cents=max(high, low))


def refresh_topup_limits(account: Account) -> Bounds:
    """Fetch Cloudflare's top-up range (a form submit, never a page view); falls back to what is known."""
    try:
        limits = client_for(account).topup.limits(account_id=account.cloudflare_id)
    except CloudflareError as exc:
        logger.info("top-up limits unavailable for %s: %s", account.cloudflare_id, type(exc).__name__)
    else:
        remember_topup_limits(account, limits.min_cents, limits.max_cents)
    return topup_bounds(account)


def auto_topup_bounds(account: Account) -> tuple[Bounds, Bounds]:
    """(amount, threshold) ranges for the auto top-up form."""
    topup = topup_bounds(account)
    amount_min = max(AUTO_TOPUP_AMOUNT_MIN_CENTS, topup.min_cents)
    return Bounds(amount_min, topup.max_cents), Bounds(AUTO_TOPUP_THRESHOLD_MIN_CENTS, topup.max_cents)


# --------------------------------------------------------------------------------------------------- top-up


def fee_cents(amount_cents: int) -> int:
    """The purchase fee Cloudflare adds (TOPUP_FEE_PERCENT), rounded half up to a whole cent."""
    fee = Decimal(amount_cents) * settings.TOPUP_FEE_PERCENT / Decimal(100)
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def latest_snapshot(account: Account) -> BalanceSnapshot | None:
    return account.balance_snapshots.order_by("-taken_at").first()


@dataclass(frozen=True)
class TopUpResult:
    topup: TopUp
    # False when this intent had already been submitted (double click, re-post, back button).
    created: bool


def start_topup(
    account: Account, actor, amount_cents: int, intent_key: uuid.UUID, *, ip_address: str | None = None
) -> TopUpResult:
    """Buy `amount_cents` of credit once per `intent_key`.

    The `TopUp` row is written first (its intent key is unique), so a second submit of the same intent finds
    it and sends nothing. Returns the row: pending on success, unknown when the answer was lost.
    Raises OperationError when Cloudflare refused (the row is then marked failed: nothing was charged).
    """
    now = timezone.now()
    snapshot = latest_snapshot(account)
    try:
        with transaction.atomic():
            topup = TopUp.objects.create(
                account=account,
                intent_key=intent_key,
                amount_cents=amount_cents,
                fee_cents=fee_cents(amount_cents),
                status=TopUpStatus.REQUESTED,
                card_brand=snapshot.payment_method_brand if snapshot else "",
                card_last4=snapshot.payment_method_last4 if snapshot else "",
                requested_by=actor,
                requested_at=now,
                # Scheduled at once, so that if this process dies before the answer the status job still
                # finds the row and, in time, marks it for a person to check.
                next_check_at=now + timedelta(seconds=FIRST_STATUS_CHECK_SECONDS),
            )
    except IntegrityError:
        existing = TopUp.objects.filter(intent_key=intent_key, account=account).first()
        if existing is None:
            raise OperationError("This confirmation belongs to another account; start again.") from None
        return TopUpResult(existing, created=False)

    parameters = {"amount_cents": amount_cents, "fee_cents": topup.fee_cents, "intent_key": str(intent_key)}
    try:
        result = client_for(account).topup.create(account_id=account.cloudflare_id, amount=amount_cents)
    except OutcomeUnknownError as exc:
        topup.status = TopUpStatus.UNKNOWN
        topup.error = exc.message
        topup.next_check_at = now
        topup.save(update_fields=["status", "error", "next_check_at"])
        record_audit(
            actor=actor,
            account=account,
            action=AuditAction.TOPUP_CREATE,
            outcome=AuditOutcome.UNKNOWN,
            parameters=parameters,
            error=exc.message,
            ip_address=ip_address,
        )
        return TopUpResult(topup, created=True)
    except CloudflareError as exc:
        message = describe_error(exc)
        topup.status = TopUpStatus.FAILED
        topup.error = message
        topup.save(update_fields=["status", "error"])
        record_audit(
            actor=actor,
            account=account,
            action=AuditAction.TOPUP_CREATE,
            outcome=AuditOutcome.FAILED,
            parameters=parameters,
            error=exc.message,
            ip_address=ip_address,
        )
        raise _operation_error(exc) from exc

    topup.payment_intent_id = result.payment_intent_id
    topup.status = TopUpStatus.PENDING
    topup.card_brand = result.brand or topup.card_brand
    topup.card_last4 = result.last4 or topup.card_last4
    topup.next_check_at = now + timedelta(seconds=FIRST_STATUS_CHECK_SECONDS)
    topup.save(update_fields=["payment_intent_id", "status", "card_brand", "card_last4", "next_check_at"])
    record_audit(
        actor=actor,
        account=account,
        action=AuditAction.TOPUP_CREATE,
        outcome=AuditOutcome.PENDING,
        parameters={**parameters, "payment_intent_id": result.payment_intent_id},
        ip_address=ip_address,
    )
    return TopUpResult(topup, created=True)


def needs_check(topup: TopUp) -> bool:
    """Whether a person should look: the outcome is unknown, or it has been pending too long."""
    if topup.status == TopUpStatus.UNKNOWN:
        return True
    if topup.status in (TopUpStatus.PENDING, TopUpStatus.REQUESTED):
        limit = timedelta(minutes=settings.TOPUP_UNKNOWN_AFTER_MINUTES)
        return timezone.now() - topup.requested_at > limit
    return False


# ----------------------------------------------------------------------------------- config-changing actions


def _run_change(account: Account, actor, action: str, parameters: dict, call, ip_address: str | None):
    """Call Cloudflare once; audit the outcome; raise OperationError when it failed."""
    try:
        result = call(client_for(account))
    except CloudflareError as exc:
        record_audit(
            actor=actor,
            account=account,
            action=action,
            outcome=AuditOutcome.UNKNOWN if isinstance(exc, OutcomeUnknownError) else AuditOutcome.FAILED,
            parameters=parameters,
            error=exc.message,
            ip_address=ip_address,
        )
        raise _operation_error(exc) from exc
    record_audit(
        actor=actor,
        account=account,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        parameters=parameters,
        ip_address=ip_address,
    )
    return result


def _refresh_figures(account: Account) -> None:
    """Stores the account's figures again after a change; the change itself has succeeded either way."""
    try:
        figures.refresh_summary(account)
    except Exception:
        logger.exception("could not store the figures of account %s after a change", account)


def set_auto_topup(
    account: Account, actor, *, amount_cents: int, threshold_cents: int, ip_address: str | None = None
) -> AutoTopUpConfig:
    """Turn on (or change) auto top-up; raises OperationError when Cloudflare refuses."""
    _run_change(
        account,
        actor,
        AuditAction.AUTO_TOPUP_SET,
        {"amount_cents": amount_cents, "threshold_cents": threshold_cents},
        lambda client: client.topup.config.create(
            account_id=account.cloudflare_id, amount=amount_cents, threshold=threshold_cents
        ),
        ip_address,
    )
    config, _ = AutoTopUpConfig.objects.update_or_create(
        account=account,
        defaults={
            "amount": cents_to_dollars(amount_cents),
            "threshold": cents_to_dollars(threshold_cents),
            "error": "",
            "disabled_reason": "",
            "last_failed_at": None,
            "synced_at": timezone.now(),
        },
    )
    return config


def remove_auto_topup(account: Account, actor, *, ip_address: str | None = None) -> AutoTopUpConfig:
    """Turn auto top-up off; raises OperationError when Cloudflare refuses."""
    _run_change(
        account,
        actor,
        AuditAction.AUTO_TOPUP_DELETE,
        {},
        lambda client: client.topup.config.delete(account_id=account.cloudflare_id),
        ip_address,
    )
    config, _ = AutoTopUpConfig.objects.update_or_create(
        account=account,
        defaults={
            "amount": None,
            "threshold": None,
            "error": "",
            "disabled_reason": "",
            "last_failed_at": None,
            "synced_at": timezone.now(),
        },
    )
    return config


def set_spending_limit(
    account: Account,
    actor,
    *,
    amount_cents: int,
    duration: str,
    strategy: str,
    ip_address: str | None = None,
) -> SpendingLimit:
    """Set the account's spending limit; raises OperationError when Cloudflare refuses."""
    _run_change(
        account,
        actor,
        AuditAction.SPENDING_LIMIT_SET,
        {"amount_cents": amount_cents, "duration": duration, "strategy": strategy},
        lambda client: client.spending_limit.create(
            account_id=account.cloudflare_id, amount=amount_cents, duration=duration, strategy=strategy
        ),
        ip_address,
    )
    limit, _ = SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": True,
            "amount": cents_to_dollars(amount_cents),
            "duration": duration,
            "strategy": strategy,
            "synced_at": timezone.now(),
        },
    )
    _refresh_figures(account)
    return limit


def remove_spending_limit(account: Account, actor, *, ip_address: str | None = None) -> SpendingLimit:
    """Remove the spending limit; raises OperationError when Cloudflare refuses."""
    _run_change(
        account,
        actor,
        AuditAction.SPENDING_LIMIT_DELETE,
        {},
        lambda client: client.spending_limit.delete(account_id=account.cloudflare_id),
        ip_address,
    )
    limit, _ = SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": False,
            "amount": None,
            "duration": "",
            "strategy": "",
            "synced_at": timezone.now(),
        },
    )
    _refresh_figures(account)
    return limit


def refresh_account(account: Account, actor, *, ip_address: str | None = None) -> None:
    """Sync one account now ("Refresh now"); raises OperationError when a part of the sync failed."""
    try:
        sync.sync_account(account, raise_on_error=True)
    except (CloudflareError, sync.SyncFailed) as exc:
        message = describe_error(exc) if isinstance(exc, CloudflareError) else str(exc)
        record_audit(
            actor=actor,
            account=account,
            action=AuditAction.ACCOUNT_REFRESH,
            outcome=AuditOutcome.FAILED,
            error=message,
            ip_address=ip_address,
        )
        raise OperationError(message) from exc
    record_audit(
        actor=actor,
        account=account,
        action=AuditAction.ACCOUNT_REFRESH,
        outcome=AuditOutcome.SUCCEEDED,
        ip_address=ip_address,
    )
