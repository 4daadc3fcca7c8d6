"""Top-ups: the fee, sending one (once per intent), and reconciling it with Cloudflare (the allowed range is
`billing.limits`'s).

A top-up's `TopUp` row is written before the POST (its intent key is unique), so a second submit of the same
intent finds it and sends nothing. A top-up whose answer was lost is recorded as "unknown" and never sent
again; the status job asks Cloudflare about unsettled top-ups, with a doubling gap, and settles them.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from celery import signature
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import audit, clients, pipeline, sync
from billing.cloudflare import CloudflareError, OutcomeUnknownError, TopupCreateResult
from billing.models import (
    Account,
    AuditAction,
    AuditOutcome,
    BalanceSnapshot,
    SyncJob,
    SyncOutcome,
    SyncRun,
    TopUp,
    TopUpStatus,
)
from billing.operations.errors import OperationError, describe_error, operation_error
from billing.operations.topup_evidence import evidence_for

logger = logging.getLogger("billing.operations")

UNSETTLED = (TopUpStatus.REQUESTED, TopUpStatus.PENDING, TopUpStatus.UNKNOWN)
FIRST_STATUS_CHECK_SECONDS = 5
# A fresh top-up is followed closely by its own task (asked about this many seconds after each previous
# check), so the result page settles within seconds; after that the periodic status job takes over.
FOLLOW_GAPS_SECONDS = (5, 10, 20, 40, 80)
FOLLOW_TASK = "billing.tasks.follow_topup"  # by name: tasks import operations, never the other way round
# Top-up polling: the first gap, the cap of the doubling gap, and how long an unsettled top-up is asked about.
TOPUP_POLL_BASE_SECONDS = 30
TOPUP_POLL_MAX_SECONDS = 3600
TOPUP_POLL_GIVE_UP = timedelta(days=7)
# A claimed top-up is not claimed again for this long, so a poller that dies mid-call frees it by itself.
TOPUP_CLAIM_SECONDS = 120


def fee_cents(amount_cents: int) -> int:
    """The purchase fee Cloudflare adds (TOPUP_FEE_PERCENT), rounded half up to a whole cent."""
    fee = Decimal(amount_cents) * settings.TOPUP_FEE_PERCENT / Decimal(100)
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------------------- top-up
@dataclass(frozen=True)
class TopUpResult:
    topup: TopUp
    # False when this intent had already been submitted (double click, re-post, back button).
    created: bool


class UnsettledTopUps(OperationError):
    """Other top-ups of the account are not settled and the person did not say they checked; nothing sent."""

    def __init__(self, topups: list[TopUp]) -> None:
        super().__init__(
            f"{len(topups)} other top-up(s) of this account are not settled yet (listed above). Check the "
            "account's invoices and balance in the Cloudflare dashboard, then tick “I have checked” to buy "
            "more. Nothing was sent."
        )
        self.topups = topups


def unsettled_topups(account: Account):
    """The account's top-ups whose outcome is not known yet (sent or being sent, not completed or refused),
    oldest first: what every manager sees before buying more."""
    return (
        TopUp.objects.filter(account=account, status__in=UNSETTLED)
        .select_related("requested_by")
        .order_by("requested_at", "pk")
    )


def start_topup(
    account: Account,
    actor: User | None,
    amount_cents: int,
    intent_key: uuid.UUID,
    *,
    ip_address: str | None = None,
    checked_unsettled: bool = False,
) -> TopUpResult:
    """Buy `amount_cents` of credit once per `intent_key`.

    Returns the row: pending on success, unknown when the answer was lost, or the existing row (created False)
    when this intent was submitted before. Raises UnsettledTopUps (nothing sent) when other top-ups of the
    account are unsettled and `checked_unsettled` is False (when True, that is audited); OperationError when
    Cloudflare refused (the row is then marked failed: nothing was charged).
    """
    try:
        topup = _new_topup(account, actor, amount_cents, intent_key)
    except IntegrityError:
        existing = TopUp.objects.filter(intent_key=intent_key, account=account).first()
        if existing is None:
            raise OperationError("This confirmation belongs to another account; start again.") from None
        return TopUpResult(existing, created=False)
    _require_checked(topup, actor, checked_unsettled, ip_address)

    def record(outcome: str, error: str = "", **extra: object) -> None:
        audit.record(
            actor=actor,
            account=account,
            action=AuditAction.TOPUP_CREATE,
            outcome=outcome,
            parameters={
                "amount_cents": amount_cents,
                "fee_cents": topup.fee_cents,
                "intent_key": str(intent_key),
                **extra,
            },
            error=error,
            ip_address=ip_address,
        )

    try:
        # A person is waiting on this page: an answer within CLOUDFLARE_WEB_TIMEOUT, or "we don't know yet".
        result = clients.client_for(account).topup.create(
            account_id=account.cloudflare_id, amount=amount_cents, deadline=settings.CLOUDFLARE_WEB_TIMEOUT
        )
    except OutcomeUnknownError as exc:
        _mark(topup, status=TopUpStatus.UNKNOWN, error=exc.message, next_check_at=topup.requested_at)
        record(AuditOutcome.UNKNOWN, exc.message)
        return TopUpResult(topup, created=True)
    except CloudflareError as exc:
        _mark(topup, status=TopUpStatus.FAILED, error=describe_error(exc))
        record(AuditOutcome.FAILED, exc.message)
        raise operation_error(exc) from exc
    _mark_accepted(topup, result)
    record(AuditOutcome.PENDING, payment_intent_id=result.payment_intent_id)
    transaction.on_commit(lambda: _send_follow(topup.pk, 0))
    return TopUpResult(topup, created=True)


def _require_checked(topup: TopUp, actor: User | None, checked: bool, ip_address: str | None) -> None:
    """Refuses (deleting the unsent row) a top-up while others of the account are unsettled, unless the person
    said they checked them, which is audited. Run after the row exists, so two managers buying at the same
    moment each see the other's."""
    others = list(unsettled_topups(topup.account).exclude(pk=topup.pk))
    if not others:
        return
    if not checked:
        topup.delete()  # never sent: the intent may be submitted again, checked
        raise UnsettledTopUps(others)
    audit.record(
        actor=actor,
        account=topup.account,
        action=AuditAction.TOPUP_RECHECKED,
        outcome=AuditOutcome.SUCCEEDED,
        parameters={"intent_key": str(topup.intent_key), "unsettled_topups": [other.pk for other in others]},
        ip_address=ip_address,
    )


def _mark_accepted(topup: TopUp, result: TopupCreateResult) -> None:
    """Cloudflare took the top-up: pending until its status says it settled; the first check is scheduled."""
    _mark(
        topup,
        payment_intent_id=result.payment_intent_id,
        status=TopUpStatus.PENDING,
        card_brand=result.brand or topup.card_brand,
        card_last4=result.last4 or topup.card_last4,
        next_check_at=topup.requested_at + timedelta(seconds=FIRST_STATUS_CHECK_SECONDS),
    )


def _send_follow(topup_id: int, step: int) -> bool:
    """Queues the next close check of a fresh top-up; False when there is none left or the broker refused
    (the periodic status job asks anyway)."""
    if step >= len(FOLLOW_GAPS_SECONDS):
        return False
    try:
        signature(FOLLOW_TASK, args=(topup_id, step)).apply_async(countdown=FOLLOW_GAPS_SECONDS[step])
    except Exception:
        logger.warning("could not queue the follow-up check of top-up %s", topup_id, exc_info=True)
        return False
    return True


def follow_topup(topup_id: int, step: int) -> bool:
    """One close check of a fresh top-up (the follow task's side): asks Cloudflare now unless it is settled,
    then queues the next check while it is still pending. Returns whether Cloudflare was asked."""
    topup = TopUp.objects.filter(pk=topup_id).first()
    if topup is None or topup.status not in (TopUpStatus.PENDING, TopUpStatus.REQUESTED):
        return False
    now = timezone.now()
    TopUp.objects.filter(pk=topup.pk, status=topup.status).update(next_check_at=now)
    asked = poll_topup(topup.pk, now=now)
    if TopUp.objects.filter(pk=topup.pk, status__in=[TopUpStatus.PENDING, TopUpStatus.REQUESTED]).exists():
        _send_follow(topup.pk, step + 1)
    return asked


def _new_topup(account: Account, actor: User | None, amount_cents: int, intent_key: uuid.UUID) -> TopUp:
    """The REQUESTED row, before anything is sent; IntegrityError when the intent key was used already."""
    now = timezone.now()
    snapshot = BalanceSnapshot.objects.latest_for(account)
    with transaction.atomic():
        return TopUp.objects.create(
            account=account,
            intent_key=intent_key,
            amount_cents=amount_cents,
            fee_cents=fee_cents(amount_cents),
            status=TopUpStatus.REQUESTED,
            card_brand=snapshot.payment_method_brand if snapshot else "",
            card_last4=snapshot.payment_method_last4 if snapshot else "",
            requested_by=actor,
            requested_at=now,
            # Scheduled at once, so that if this process dies before the answer the status job still finds
            # the row and, in time, marks it for a person to check.
            next_check_at=now + timedelta(seconds=FIRST_STATUS_CHECK_SECONDS),
        )


def _mark(topup: TopUp, **fields: object) -> None:
    for name, value in fields.items():
        setattr(topup, name, value)
    topup.save(update_fields=list(fields))


def needs_check(topup: TopUp) -> bool:
    """Whether a person should look: the outcome is unknown, or it has been pending too long."""
    if topup.status == TopUpStatus.UNKNOWN:
        return True
    if topup.status in (TopUpStatus.PENDING, TopUpStatus.REQUESTED):
        limit = timedelta(minutes=settings.TOPUP_UNKNOWN_AFTER_MINUTES)
        return timezone.now() - topup.requested_at > limit
    return False


def check_topup_now(topup: TopUp) -> bool:
    """Asks Cloudflare about this top-up now (a person's "Check status now"): brings its next scheduled check
    forward and polls it once (one without an id: fetches the balance and invoices and looks for evidence).
    Returns False when it is settled already."""
    if topup.status not in (TopUpStatus.PENDING, TopUpStatus.UNKNOWN):
        return False
    now = timezone.now()
    TopUp.objects.filter(pk=topup.pk, status=topup.status).update(next_check_at=now)
    return poll_topup(topup.pk, now=now)


# ------------------------------------------------------------------------------------------- reconciliation
def _poll_gap(attempts: int) -> timedelta:
    return timedelta(seconds=min(TOPUP_POLL_BASE_SECONDS * 2 ** max(attempts - 1, 0), TOPUP_POLL_MAX_SECONDS))


def due_topups(now: datetime | None = None):
    """Top-ups whose outcome is not settled and whose next check is due (oldest first)."""
    now = now or timezone.now()
    return (
        TopUp.objects.filter(status__in=[TopUpStatus.REQUESTED, TopUpStatus.PENDING, TopUpStatus.UNKNOWN])
        .filter(next_check_at__lte=now)
        .order_by("next_check_at", "pk")
    )


def poll_due_topups(now: datetime | None = None, limit: int = 200) -> int:
    """Polls due top-ups one by one; returns how many were polled."""
    polled = 0
    for topup_id in due_topups(now).values_list("pk", flat=True)[:limit]:
        if poll_topup(topup_id):
            polled += 1
    clients.flush_api_call_counts()
    return polled


def poll_topup(topup_id: int, now: datetime | None = None) -> bool:
    """Asks Cloudflare about one unsettled top-up, once; never re-sends it. Returns False when the top-up is
    not due or another poller claimed it first.

    Completed: status completed, completed_at, an audit entry (topup.reconciled) and a fresh balance. Still
    pending after TOPUP_UNKNOWN_AFTER_MINUTES: marked unknown (audited) for a person to check; it keeps being
    asked about, ever less often, for a week, so a late completion is still recorded.
    """
    now = now or timezone.now()
    topup = _claim_due(topup_id, now)
    if topup is None:
        return False
    overdue = now - topup.requested_at >= timedelta(minutes=settings.TOPUP_UNKNOWN_AFTER_MINUTES)
    if not topup.payment_intent_id:
        _check_without_id(topup, now, overdue)
        return True
    status, error = _ask_status(topup)
    if status == "completed":
        if _settle(topup, TopUpStatus.COMPLETED, now, ""):
            _refresh_after_completion(topup.account)
        return True
    attempts = topup.check_attempts + 1
    note = (
        sync.describe(error) if error else ("" if status == "pending" else f"Unexpected status {status!r}.")
    )
    next_check: datetime | None = now + _poll_gap(attempts)
    if now - topup.requested_at >= TOPUP_POLL_GIVE_UP:
        next_check = None  # a person has had a week to look; stop asking
    TopUp.objects.filter(pk=topup.pk).update(
        check_attempts=attempts, next_check_at=next_check, error=note or topup.error
    )
    if overdue and topup.status != TopUpStatus.UNKNOWN:
        _settle(topup, TopUpStatus.UNKNOWN, now, note or "Still pending at Cloudflare.")
    return True


def _check_without_id(topup: TopUp, now: datetime, overdue: bool) -> None:
    """A top-up Cloudflare gave no id: in flight until overdue (then unknown), and, once its answer is known
    lost, settled from evidence (a new invoice of its amount, or the balance rising by it) fetched afresh;
    without evidence it stays unknown, never "failed", and is looked at again, ever less often, for a week."""
    attempts = topup.check_attempts + 1
    next_check: datetime | None = now + _poll_gap(attempts)
    if now - topup.requested_at >= TOPUP_POLL_GIVE_UP:
        next_check = None
    TopUp.objects.filter(pk=topup.pk).update(check_attempts=attempts, next_check_at=next_check)
    if topup.status == TopUpStatus.REQUESTED and not overdue:
        return  # the create call may still be in flight
    _refresh_after_completion(topup.account)
    evidence = evidence_for(topup)
    if evidence:
        _settle(topup, TopUpStatus.COMPLETED, now, "", evidence=evidence)
    elif topup.status != TopUpStatus.UNKNOWN:
        _settle(topup, TopUpStatus.UNKNOWN, now, "No answer from Cloudflare to the top-up request.")


def _refresh_after_completion(account: Account) -> None:
    """What a completed top-up changes, fetched at once: the balance (with its alerts) and the invoices (a
    top-up is invoiced), so no page shows the old figures as current."""
    pipeline.run_for_account(SyncJob.BALANCE, account)
    pipeline.run_for_account(SyncJob.INVOICES, account)


def _claim_due(topup_id: int, now: datetime) -> TopUp | None:
    """The top-up, claimed for one check (its next check pushed back), or None when not due or taken."""
    topup = TopUp.objects.select_related("account").filter(pk=topup_id).first()
    if topup is None or topup.next_check_at is None or topup.next_check_at > now:
        return None
    claimed = TopUp.objects.filter(
        pk=topup.pk, status=topup.status, next_check_at=topup.next_check_at
    ).update(next_check_at=now + timedelta(seconds=TOPUP_CLAIM_SECONDS), last_checked_at=now)
    return topup if claimed else None


def _ask_status(topup: TopUp) -> tuple[str | None, CloudflareError | None]:
    """One topup/status call, recorded as a "topups" sync run; (status, None) or (None, the error)."""
    account = topup.account
    started = timezone.now()
    with clients.counting_calls() as calls:
        try:
            answer = clients.client_for(account).topup.status(
                account_id=account.cloudflare_id, payment_intent_id=topup.payment_intent_id
            )
            status, error = answer.status, None
        except CloudflareError as exc:
            status, error = None, exc
    SyncRun.objects.create(
        job=SyncJob.TOPUPS,
        account=account,
        started_at=started,
        finished_at=timezone.now(),
        outcome=SyncOutcome.FAILED if error else SyncOutcome.SUCCEEDED,
        error=sync.describe(error) if error else "",
        api_calls=calls[0],
    )
    return status, error


def _settle(topup: TopUp, status: str, now: datetime, error: str, evidence: str = "") -> bool:
    """Moves the top-up to `status` once (conditional update) and audits it (with the evidence that settled
    it, for a top-up without an id); False if it had moved already."""
    completed = status == TopUpStatus.COMPLETED
    reason = "" if completed else error[:4000]
    fields: dict[str, object] = {"status": status, "error": reason, "evidence": evidence[:300]}
    if completed:
        fields["completed_at"] = now
    with transaction.atomic():
        changed = TopUp.objects.filter(pk=topup.pk, status=topup.status).update(**fields)
        if not changed:
            return False
        audit.record(
            actor=None,
            account=topup.account,
            action=AuditAction.TOPUP_RECONCILED,
            parameters={
                "topup_id": topup.pk,
                "payment_intent_id": topup.payment_intent_id,
                "amount_cents": topup.amount_cents,
                "from": topup.status,
                "to": status,
                **({"evidence": evidence} if evidence else {}),
            },
            outcome=AuditOutcome.SUCCEEDED if status == TopUpStatus.COMPLETED else AuditOutcome.UNKNOWN,
            error=reason,
        )
    logger.info("top-up %s of %s: %s -> %s", topup.pk, topup.account, topup.status, status)
    return True
