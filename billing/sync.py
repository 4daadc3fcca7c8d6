"""Snapshot jobs: copy Cloudflare's point-in-time answers into local history tables.

One unit of work per function, each for one account: `sync_balance`, `sync_spending_limit`, `sync_usage`,
`sync_invoices`; `poll_topup` for one top-up; `apply_retention` for the whole history. `sync_account` runs the
first three (and the spending limit) for one account, as "Refresh now" and `load_demo` want.

Every account unit is recorded in a `SyncRun` row, which is also its lock: the row is created with outcome
"running", and a partial unique constraint refuses a second running row for the same (job, account), so
two overlapping sweeps never run one account twice. A running row older than SYNC_LOCK_TIMEOUT_SECONDS was
left by a worker that died and is taken over. Units never raise: a failure is recorded in its run and the
next account goes on. API calls happen outside database transactions; each unit's writes are one transaction
of upserts keyed by unique constraints, so a repeated or concurrent run updates rows, never duplicates them.

After a successful balance, spending-limit or usage unit the account's derived figures are computed again and
stored (`figures.refresh_summary`, or `figures.refresh_balance` when only the balance changed), so the pages
read them rather than recompute them on every view.

`run_job(job, account_ids)` runs one job's units for many accounts on a few threads (each thread closes its
own database connections when done); the Celery tasks call it for chunks of accounts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Count, Max, Subquery
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from billing import api, figures, metrics
from billing.cloudflare import BillingClient, CloudflareError, RateLimitBudgetExceeded, RateLimitError
from billing.models import (
    Account,
    AuditAction,
    AuditEntry,
    AuditOutcome,
    AutoTopUpConfig,
    BalanceSnapshot,
    Invoice,
    InvoicePreview,
    InvoicePreviewLine,
    InvoiceType,
    SpendingLimit,
    SyncOutcome,
    SyncRun,
    TopUp,
    TopUpStatus,
    UsageRecord,
    UsageWindow,
)
from billing.money import (
    balance_to_dollars,
    cents_to_dollars,
    datetime_to_ms,
    minor_units_to_major,
    ms_to_datetime,
    timestamp_to_datetime,
    to_decimal,
    usage_to_dollars,
)

logger = logging.getLogger(__name__)

JOB_BALANCE = "balance"
JOB_SPENDING_LIMIT = "spending_limit"
JOB_USAGE = "usage"
JOB_INVOICES = "invoices"
JOB_TOPUPS = "topups"
JOB_RETENTION = "retention"
SWEEP_JOBS = (JOB_BALANCE, JOB_USAGE, JOB_INVOICES)

# Top-up polling: the first gap, the cap of the doubling gap, and how long an unsettled top-up is asked about.
TOPUP_POLL_BASE_SECONDS = 30
TOPUP_POLL_MAX_SECONDS = 3600
TOPUP_POLL_GIVE_UP = timedelta(days=7)
# A claimed top-up is not claimed again for this long, so a poller that dies mid-call frees it by itself.
TOPUP_CLAIM_SECONDS = 120


# --- runs and locks ---------------------------------------------------------------------------------------
def _claim(job: str, account: Account | None) -> SyncRun | None:
    """A new running SyncRun for (job, account), or None while another live run holds that lock."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SYNC_LOCK_TIMEOUT_SECONDS)
    abandoned = SyncRun.objects.filter(
        job=job, account=account, outcome=SyncOutcome.RUNNING, started_at__lt=stale
    ).update(outcome=SyncOutcome.FAILED, finished_at=now, error="abandoned: the worker running it stopped")
    if abandoned:
        logger.warning("took over an abandoned %s lock for account %s", job, account)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(job=job, account=account, started_at=now)
    except IntegrityError:
        logger.info("%s for %s is already running; skipped", job, account)
        return None


def _finish(run: SyncRun, outcome: str, error: str = "", api_calls: int = 0) -> SyncRun:
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.error = error[:4000]
    run.api_calls = api_calls
    SyncRun.objects.filter(pk=run.pk).update(
        outcome=run.outcome, finished_at=run.finished_at, error=run.error, api_calls=run.api_calls
    )
    return run


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CloudflareError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds after which trying again may help, or None when a retry cannot help."""
    if exc is None:
        return None
    if isinstance(exc, RateLimitError | RateLimitBudgetExceeded):
        return float(exc.retry_after or 30)
    if isinstance(exc, CloudflareError):
        return 0.0 if exc.retryable else None
    if isinstance(exc, DatabaseError):
        return 0.0  # "database is locked" and dropped connections pass
    return None


@dataclass
class UnitResult:
    """What one unit did: its run (None when skipped because another run held the lock) and its error."""

    run: SyncRun | None
    error: BaseException | None = None

    @property
    def skipped(self) -> bool:
        return self.run is None

    @property
    def succeeded(self) -> bool:
        return self.run is not None and self.run.outcome == SyncOutcome.SUCCEEDED


def _run_unit(job: str, account: Account, work: Callable[[BillingClient], None]) -> UnitResult:
    """Runs `work(client)` under the (job, account) lock and records it; never raises."""
    try:
        run = _claim(job, account)
    except DatabaseError as exc:
        logger.warning("could not claim %s for %s: %s", job, account, exc)
        return UnitResult(None, exc)
    if run is None:
        return UnitResult(None)
    with metrics.counting_calls() as calls:
        try:
            work(api.client_for(account))
        except Exception as exc:
            log = logger.warning if isinstance(exc, CloudflareError) else logger.exception
            log("%s of account %s failed: %s", job, account.cloudflare_id, _describe(exc))
            try:
                _finish(run, SyncOutcome.FAILED, _describe(exc), calls[0])
            except DatabaseError:
                logger.exception("could not record the failure of %s for %s", job, account)
            return UnitResult(run, exc)
    try:
        _finish(run, SyncOutcome.SUCCEEDED, "", calls[0])
    except DatabaseError as exc:
        return UnitResult(run, exc)
    return UnitResult(run)


def _text(value: object, length: int) -> str:
    return "" if value is None else str(value)[:length]


# --- balance, auto top-up config, spending limit ----------------------------------------------------------
def sync_balance(account: Account) -> SyncRun | None:
    """One credit-balance fetch: a BalanceSnapshot and the AutoTopUpConfig (one API call).

    Returns the run (None when another run of this account's balance is in progress). A failed fetch writes
    no snapshot (never a zero balance). After a successful snapshot the account's alerts are evaluated.
    """
    result = _run_unit(JOB_BALANCE, account, lambda client: _fetch_balance(client, account))
    if result.succeeded:
        _refresh_summary(account, balance_run=result.run)
        _evaluate_alerts(account)
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
            payment_method_brand=_text(card.brand if card else None, 32),
            payment_method_last4=_text(card.last4 if card else None, 4),
            first_topup_success=answer.first_topup_success,
            auto_topup_amount=auto_amount,
            auto_topup_threshold=auto_threshold,
            auto_topup_error=_text(config.error, 500),
            auto_topup_disabled_reason=_text(config.disabled_reason, 500),
            auto_topup_last_failed_at=last_failed_at,
        )
        AutoTopUpConfig.objects.update_or_create(
            account=account,
            defaults={
                "amount": auto_amount,
                "threshold": auto_threshold,
                "error": _text(config.error, 500),
                "disabled_reason": _text(config.disabled_reason, 500),
                "last_failed_at": last_failed_at,
                "synced_at": taken_at,
            },
        )


def _refresh_summary(account: Account, balance_run: SyncRun | None = None) -> None:
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


def _evaluate_alerts(account: Account) -> None:
    # The alerts module is optional to this one: sync works (and is tested) without it.
    if importlib.util.find_spec("billing.alerts") is None:
        return
    try:
        from billing import alerts

        alerts.evaluate_account(account)
    except Exception:
        logger.exception("alert evaluation failed for account %s (the sync itself succeeded)", account)


def sync_spending_limit(account: Account) -> SyncRun | None:
    """One spending-limit fetch into SpendingLimit (amounts: integer cents on the wire)."""
    result = _run_unit(JOB_SPENDING_LIMIT, account, lambda client: _fetch_spending_limit(client, account))
    if result.succeeded:
        _refresh_summary(account)
    return result.run


def _fetch_spending_limit(client: BillingClient, account: Account) -> None:
    answer = client.spending_limit.get(account_id=account.cloudflare_id)
    config = answer.config
    SpendingLimit.objects.update_or_create(
        account=account,
        defaults={
            "enabled": answer.enabled,
            "amount": None if config.amount is None else cents_to_dollars(config.amount),
            "duration": _text(config.duration, 16),
            "strategy": _text(config.strategy, 16),
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


# --- usage ------------------------------------------------------------------------------------------------
def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _floor_day(moment: datetime) -> datetime:
    return _floor_hour(moment).replace(hour=0)


def usage_window_start(
    account: Account, window: str, now: datetime, backfill_days: int | None = None
) -> datetime:
    """Where a usage fetch of `window` starts.

    With `backfill_days`: that many days back. On the first sync: USAGE_BACKFILL_DAYS of days and
    USAGE_BACKFILL_HOURS_DAYS of hours. Afterwards: from the newest stored bucket, less one day for days and
    USAGE_HOUR_OVERLAP_HOURS for hours, so partial and late buckets are fetched again and corrected (and a
    worker that was down fills its gap), never further back than the backfill.
    """
    hour_days = settings.USAGE_BACKFILL_HOURS_DAYS
    if window == UsageWindow.DAY:
        days = backfill_days if backfill_days is not None else settings.USAGE_BACKFILL_DAYS
        earliest = _floor_day(now - timedelta(days=days))
        overlap = timedelta(days=1)
    else:
        days = min(backfill_days, hour_days) if backfill_days is not None else hour_days
        earliest = _floor_hour(now - timedelta(days=days))
        overlap = timedelta(hours=settings.USAGE_HOUR_OVERLAP_HOURS)
    if backfill_days is not None:
        return earliest
    newest = (
        UsageRecord.objects.filter(account=account, window=window)
        .order_by("-start")
        .values_list("start", flat=True)
        .first()
    )
    if newest is None:
        return earliest
    return max(newest - overlap, earliest)


def sync_usage(account: Account, backfill_days: int | None = None) -> SyncRun | None:
    """Fetches the day and the hour windows (two API calls) and upserts UsageRecord rows."""
    return _usage_units(account, backfill_days)[0].run


def _fetch_usage(client: BillingClient, account: Account, backfill_days: int | None) -> None:
    now = timezone.now()
    for window in (UsageWindow.DAY, UsageWindow.HOUR):
        start = usage_window_start(account, window, now, backfill_days)
        answer = client.usage_history(
            account_id=account.cloudflare_id,
            value_grouping_window=window.value,
            start_time=datetime_to_ms(start),
            end_time=datetime_to_ms(now),
        )
        store_usage(account, window, answer.history, timezone.now())


def store_usage(account: Account, window: str, summaries: Iterable, synced_at: datetime) -> int:
    """Upserts usage summaries (as the client returns them); returns how many rows were written."""
    rows = {}
    for summary in summaries:
        start = ms_to_datetime(summary.start_time)
        key = (start, _text(summary.id, 128))
        rows[key] = UsageRecord(
            account=account,
            window=window,
            start=start,
            end=ms_to_datetime(summary.end_time),
            summary_id=key[1],
            value=usage_to_dollars(summary.aggregated_value),
            synced_at=synced_at,
        )
    if not rows:
        return 0
    with transaction.atomic():
        UsageRecord.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["account", "window", "start", "summary_id"],
            update_fields=["end", "value", "synced_at"],
            batch_size=500,
        )
        # A bucket Cloudflare now reports under another id replaces the old row rather than adding to it.
        starts = [start for start, _ in rows]
        existing = UsageRecord.objects.filter(
            account=account, window=window, start__gte=min(starts), start__lte=max(starts)
        ).values_list("pk", "start", "summary_id")
        reported = {start for start, _ in rows}
        superseded = [pk for pk, start, sid in existing if start in reported and (start, sid) not in rows]
        if superseded:
            UsageRecord.objects.filter(pk__in=superseded).delete()
    return len(rows)


# --- invoices and the invoice preview ---------------------------------------------------------------------
def sync_invoices(account: Account) -> SyncRun | None:
    """Fetches manual and auto invoices and the invoice preview (three API calls) and upserts them."""
    return _run_unit(JOB_INVOICES, account, lambda client: _fetch_invoices(client, account)).run


def _fetch_invoices(client: BillingClient, account: Account) -> None:
    fetched = []
    for kind in (InvoiceType.MANUAL, InvoiceType.AUTO):
        answer = client.invoice_history(account_id=account.cloudflare_id, type=kind.value)
        fetched += [(kind, invoice) for invoice in answer.invoices]
    preview = client.invoice_preview(account_id=account.cloudflare_id)
    now = timezone.now()
    with transaction.atomic():
        store_invoices(account, fetched, now)
        store_invoice_preview(account, preview, now)


def synthetic_invoice_id(kind: str, invoice) -> str:
    """A stable id for an invoice Cloudflare sent without one, from the fields that do not change."""
    parts = [
        kind,
        invoice.created,
        invoice.amount_due,
        invoice.currency,
        invoice.description,
        invoice.created_by,
        invoice.invoice_origin,
    ]
    digest = hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return f"synthetic_{digest[:32]}"


def store_invoices(account: Account, fetched: list, synced_at: datetime) -> int:
    """Upserts [(invoice_type, Invoice result)] keyed by (account, invoice id)."""
    rows = {}
    for kind, invoice in fetched:
        invoice_id = _text(invoice.id, 128) if invoice.id else synthetic_invoice_id(kind, invoice)
        currency = (invoice.currency or "usd").lower()[:8]
        pdf = invoice.invoice_pdf or ""
        rows[invoice_id] = Invoice(
            account=account,
            invoice_id=invoice_id,
            invoice_type=kind,
            amount_due=minor_units_to_major(invoice.amount_due, currency),
            amount_paid=minor_units_to_major(invoice.amount_paid, currency),
            amount_remaining=minor_units_to_major(invoice.amount_remaining, currency),
            currency=currency,
            attempt_count=invoice.attempt_count,
            attempted=invoice.attempted,
            auto_advance=invoice.auto_advance,
            created=timestamp_to_datetime(invoice.created),
            created_by=_text(invoice.created_by, 200),
            description=_text(invoice.description, 10_000),
            invoice_origin=_text(invoice.invoice_origin, 200),
            # Only a link the browser can follow safely is kept.
            invoice_pdf=pdf if len(pdf) <= 1000 and pdf.startswith(("https://", "http://")) else "",
            status=_text(invoice.status, 32),
            synced_at=synced_at,
        )
    if rows:
        Invoice.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["account", "invoice_id"],
            update_fields=[
                "invoice_type",
                "amount_due",
                "amount_paid",
                "amount_remaining",
                "currency",
                "attempt_count",
                "attempted",
                "auto_advance",
                "created",
                "created_by",
                "description",
                "invoice_origin",
                "invoice_pdf",
                "status",
                "synced_at",
            ],
            batch_size=500,
        )
    return len(rows)


def store_invoice_preview(account: Account, preview, synced_at: datetime) -> InvoicePreview:
    """Replaces the account's invoice preview and its lines."""
    currency = (preview.currency or "usd").lower()[:8]
    row, _ = InvoicePreview.objects.update_or_create(
        account=account,
        defaults={
            "preview_id": _text(preview.id, 128),
            "amount_due": minor_units_to_major(preview.amount_due, currency),
            "amount_paid": minor_units_to_major(preview.amount_paid, currency),
            "amount_remaining": minor_units_to_major(preview.amount_remaining, currency),
            "currency": currency,
            "period_start": timestamp_to_datetime(preview.period_start),
            "period_end": timestamp_to_datetime(preview.period_end),
            "status": _text(preview.status, 16),
            "synced_at": synced_at,
        },
    )
    row.lines.all().delete()
    lines = []
    for position, line in enumerate(preview.invoice_lines):
        line_currency = (line.currency or currency).lower()[:8]
        credits = [
            {
                "amount": str(minor_units_to_major(credit.amount, line_currency)),
                "type": credit.type,
                "credit_balance_transaction": credit.credit_balance_transaction,
                "discount": credit.discount,
            }
            for credit in line.pretax_credit_amounts or ()
        ]
        lines.append(
            InvoicePreviewLine(
                preview=row,
                position=position,
                amount=minor_units_to_major(line.amount, line_currency),
                currency=line_currency,
                description=_text(line.description, 10_000),
                period_start=timestamp_to_datetime(line.period.start),
                period_end=timestamp_to_datetime(line.period.end),
                unit_amount_decimal=_text(line.pricing.unit_amount_decimal, 64),
                quantity=to_decimal(line.quantity),
                credits=credits,
            )
        )
    InvoicePreviewLine.objects.bulk_create(lines)
    return row


# --- one account, all jobs --------------------------------------------------------------------------------
class SyncFailed(Exception):
    """Raised by `sync_account(raise_on_error=True)` for a failure that is not a CloudflareError."""

    def __init__(self, message: str, runs: list[SyncRun], error: BaseException | None) -> None:
        super().__init__(message)
        self.runs = runs
        self.error = error


def sync_account(
    account: Account, backfill_days: int | None = None, *, raise_on_error: bool = False
) -> list[SyncRun]:
    """A full sync of one account: balance and auto top-up config, spending limit, usage (with the first-sync
    backfill, or `backfill_days`), invoices and the invoice preview. Returns the runs made (a job already
    running for this account elsewhere is skipped and has no run).

    Each job is recorded on its own; one failing does not stop the others. With `raise_on_error`, after every
    job ran, the first CloudflareError is raised again if a job failed with one (SyncFailed for other errors).
    """
    # Alerts are evaluated once, after usage is in: runway and spend need it (a first sync has none before).
    results = _balance_units(account, always_fetch_limit=True, evaluate_alerts=False)
    results += _usage_units(account, backfill_days)
    results += _invoice_units(account)
    if results[0].succeeded:
        _evaluate_alerts(account)
    metrics.flush_api_call_counts()
    runs = [r.run for r in results if r.run is not None]
    errors = [r.error for r in results if r.error is not None]
    if raise_on_error and errors:
        first = next((e for e in errors if isinstance(e, CloudflareError)), None)
        if first is not None:
            raise first
        raise SyncFailed(f"sync of {account} failed: {_describe(errors[0])}", runs, errors[0])
    return runs


def _balance_units(
    account: Account, *, always_fetch_limit: bool = False, evaluate_alerts: bool = True
) -> list[UnitResult]:
    """The balance job for one account: the balance, then the spending limit when due (or always)."""
    results = [_run_unit(JOB_BALANCE, account, lambda client: _fetch_balance(client, account))]
    if results[0].succeeded and evaluate_alerts:
        _evaluate_alerts(account)
    if always_fetch_limit or (results[0].succeeded and spending_limit_due(account)):
        results.append(
            _run_unit(JOB_SPENDING_LIMIT, account, lambda client: _fetch_spending_limit(client, account))
        )
    if results[-1].succeeded and len(results) > 1:
        _refresh_summary(account)  # a new spending limit: its figures too
    elif results[0].succeeded:
        _refresh_summary(account, balance_run=results[0].run)
    return results


def _usage_units(account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    result = _run_unit(JOB_USAGE, account, lambda client: _fetch_usage(client, account, backfill_days))
    if result.succeeded:
        _refresh_summary(account)
    return [result]


def _invoice_units(account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    return [_run_unit(JOB_INVOICES, account, lambda client: _fetch_invoices(client, account))]


_JOB_UNITS: dict[str, Callable[..., list[UnitResult]]] = {
    JOB_BALANCE: lambda account, backfill_days=None: _balance_units(account),
    JOB_USAGE: _usage_units,
    JOB_INVOICES: _invoice_units,
    "account": lambda account, backfill_days=None: _account_units(account, backfill_days),
}


def _account_units(account: Account, backfill_days: int | None) -> list[UnitResult]:
    return (
        _balance_units(account, always_fetch_limit=True)
        + _usage_units(account, backfill_days)
        + _invoice_units(account)
    )


# --- many accounts ----------------------------------------------------------------------------------------
@dataclass
class JobSummary:
    """The outcome of one job over many accounts. `retry` lists the accounts whose failure may pass."""

    job: str
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    api_calls: int = 0
    retry: list[int] = field(default_factory=list)
    retry_after: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)  # cloudflare id -> error of its failed run

    def add(self, account: Account, results: list[UnitResult]) -> None:
        first = results[0]
        self.api_calls += sum(r.run.api_calls for r in results if r.run is not None)
        if first.skipped and first.error is None:
            self.skipped += 1
        elif first.error is None:
            self.succeeded += 1
        else:
            self.failed += 1
            self.errors[account.cloudflare_id] = _describe(first.error)
            wait = retry_after(first.error)
            if wait is not None:
                self.retry.append(account.pk)
                self.retry_after = max(self.retry_after, wait)


def active_account_ids() -> list[int]:
    return list(Account.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


def chunked(ids: list[int], size: int) -> list[list[int]]:
    size = max(1, size)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def run_job(
    job: str,
    account_ids: Iterable[int],
    *,
    threads: int | None = None,
    backfill_days: int | None = None,
    stop: threading.Event | None = None,
    on_done: Callable[[Account, list[UnitResult]], None] | None = None,
) -> JobSummary:
    """Runs `job` ("balance", "usage", "invoices" or "account" for all of them) for each active account in
    `account_ids`, on up to `threads` threads (default SYNC_THREADS). A failing account is recorded and the
    others go on. Setting `stop` lets the running units finish and starts no more."""
    units = _JOB_UNITS[job]
    accounts = list(Account.objects.filter(pk__in=list(account_ids), is_active=True).order_by("pk"))
    summary = JobSummary(job)
    lock = threading.Lock()

    def one(account: Account) -> None:
        results = units(account, backfill_days=backfill_days)
        with lock:
            summary.add(account, results)
            if on_done is not None:
                on_done(account, results)

    run_in_threads(one, accounts, threads or settings.SYNC_THREADS, stop or threading.Event())
    metrics.flush_api_call_counts()
    return summary


def run_in_threads(func: Callable, items: list, threads: int, stop: threading.Event) -> None:
    """Calls `func(item)` for every item on up to `threads` threads; each thread closes its own database
    connections when it ends. With one thread (or one item) everything runs here, on this connection."""
    if threads <= 1 or len(items) <= 1:
        for item in items:
            if stop.is_set():
                break
            func(item)
        return
    pending = iter(items)
    take = threading.Lock()

    def worker() -> None:
        try:
            while not stop.is_set():
                with take:
                    item = next(pending, None)
                if item is None:
                    return
                try:
                    func(item)
                except Exception:
                    logger.exception("sync unit failed unexpectedly")
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(min(threads, len(items)))]
    for thread in workers:
        thread.start()
    try:
        for thread in workers:
            thread.join()
    except BaseException:
        # A soft time limit lands here: let the units in flight finish, start no more.
        stop.set()
        for thread in workers:
            thread.join()
        raise


# --- pending top-ups --------------------------------------------------------------------------------------
def _poll_gap(attempts: int) -> timedelta:
    return timedelta(seconds=min(TOPUP_POLL_BASE_SECONDS * 2 ** max(attempts - 1, 0), TOPUP_POLL_MAX_SECONDS))


def due_topups(now: datetime | None = None):
    """Top-ups whose outcome is not settled and whose next check is due (oldest first)."""
    now = now or timezone.now()
    return (
        TopUp.objects.filter(status__in=[TopUpStatus.REQUESTED, TopUpStatus.PENDING, TopUpStatus.UNKNOWN])
        .filter(
            # Unknown ones are asked about only when Cloudflare gave them an id; requested ones without an id
            # are checked only to be marked unknown in time.
            next_check_at__lte=now
        )
        .exclude(status=TopUpStatus.UNKNOWN, payment_intent_id="")
        .order_by("next_check_at", "pk")
    )


def poll_due_topups(now: datetime | None = None, limit: int = 200) -> int:
    """Polls due top-ups one by one; returns how many were polled."""
    polled = 0
    for topup_id in due_topups(now).values_list("pk", flat=True)[:limit]:
        if poll_topup(topup_id):
            polled += 1
    metrics.flush_api_call_counts()
    return polled


def poll_topup(topup_id: int, now: datetime | None = None) -> bool:
    """Asks Cloudflare about one unsettled top-up, once; never re-sends it. Returns False when the top-up is
    not due or another poller claimed it first.

    Completed: status completed, completed_at, an audit entry (topup.reconciled) and a fresh balance. Still
    pending after TOPUP_UNKNOWN_AFTER_MINUTES: marked unknown (audited) for a person to check; it keeps being
    asked about, ever less often, for a week, so a late completion is still recorded.
    """
    now = now or timezone.now()
    topup = TopUp.objects.select_related("account").filter(pk=topup_id).first()
    if topup is None or topup.next_check_at is None or topup.next_check_at > now:
        return False
    claimed = TopUp.objects.filter(
        pk=topup.pk, status=topup.status, next_check_at=topup.next_check_at
    ).update(next_check_at=now + timedelta(seconds=TOPUP_CLAIM_SECONDS), last_checked_at=now)
    if not claimed:
        return False
    account = topup.account
    overdue = now - topup.requested_at >= timedelta(minutes=settings.TOPUP_UNKNOWN_AFTER_MINUTES)
    if not topup.payment_intent_id:
        # No id: the create call is in flight or its answer was lost; only time can tell us which.
        if overdue:
            _settle(topup, TopUpStatus.UNKNOWN, now, "No answer from Cloudflare to the top-up request.")
        else:
            TopUp.objects.filter(pk=topup.pk).update(next_check_at=now + _poll_gap(1))
        return True

    started = timezone.now()
    with metrics.counting_calls() as calls:
        try:
            answer = api.client_for(account).topup.status(
                account_id=account.cloudflare_id, payment_intent_id=topup.payment_intent_id
            )
            status, error = answer.status, None
        except CloudflareError as exc:
            status, error = None, exc
    SyncRun.objects.create(
        job=JOB_TOPUPS,
        account=account,
        started_at=started,
        finished_at=timezone.now(),
        outcome=SyncOutcome.FAILED if error else SyncOutcome.SUCCEEDED,
        error=_describe(error) if error else "",
        api_calls=calls[0],
    )
    if status == "completed":
        if _settle(topup, TopUpStatus.COMPLETED, now, ""):
            sync_balance(account)
        return True
    attempts = topup.check_attempts + 1
    note = _describe(error) if error else ("" if status == "pending" else f"Unexpected status {status!r}.")
    next_check = now + _poll_gap(attempts)
    if now - topup.requested_at >= TOPUP_POLL_GIVE_UP:
        next_check = None  # a person has had a week to look; stop asking
    TopUp.objects.filter(pk=topup.pk).update(
        check_attempts=attempts, next_check_at=next_check, error=note or topup.error
    )
    if overdue and topup.status != TopUpStatus.UNKNOWN:
        _settle(topup, TopUpStatus.UNKNOWN, now, note or "Still pending at Cloudflare.")
    return True


def _settle(topup: TopUp, status: str, now: datetime, error: str) -> bool:
    """Moves the top-up to `status` once (conditional update) and audits it; False if it had moved already."""
    fields = {"status": status}
    if status == TopUpStatus.COMPLETED:
        fields.update(completed_at=now, error="")
    else:
        fields["error"] = error[:4000]
    with transaction.atomic():
        changed = TopUp.objects.filter(pk=topup.pk, status=topup.status).update(**fields)
        if not changed:
            return False
        AuditEntry.objects.create(
            actor=None,
            actor_name="system",
            account=topup.account,
            account_cloudflare_id=topup.account.cloudflare_id,
            action=AuditAction.TOPUP_RECONCILED,
            parameters={
                "topup_id": topup.pk,
                "payment_intent_id": topup.payment_intent_id,
                "amount_cents": topup.amount_cents,
                "from": topup.status,
                "to": status,
            },
            outcome=AuditOutcome.SUCCEEDED if status == TopUpStatus.COMPLETED else AuditOutcome.UNKNOWN,
            error=fields.get("error", ""),
        )
    logger.info("top-up %s of %s: %s -> %s", topup.pk, topup.account, topup.status, status)
    return True


# --- retention --------------------------------------------------------------------------------------------
def apply_retention(now: datetime | None = None) -> dict[str, int]:
    """Thins balance snapshots older than 30 days to one per hour, older than a year to one per day (the last
    of each bucket stays), and deletes finished sync runs older than SYNC_RUN_RETENTION_DAYS except the last
    success of each (account, job). Returns the rows deleted per kind. Safe to run twice or concurrently."""
    now = now or timezone.now()
    month_ago, year_ago = now - timedelta(days=30), now - timedelta(days=365)
    started = timezone.now()
    deleted = {
        "hourly": _thin(year_ago, month_ago, timedelta(hours=1)),
        "daily": _thin(None, year_ago, timedelta(days=1)),
    }
    keep = (
        SyncRun.objects.filter(outcome=SyncOutcome.SUCCEEDED)
        .values("account_id", "job")
        .annotate(last=Max("pk"))
        .values("last")
    )
    deleted["sync_runs"], _ = (
        SyncRun.objects.filter(started_at__lt=now - timedelta(days=settings.SYNC_RUN_RETENTION_DAYS))
        .exclude(outcome=SyncOutcome.RUNNING)
        .exclude(pk__in=Subquery(keep))
        .delete()
    )
    SyncRun.objects.create(
        job=JOB_RETENTION,
        started_at=started,
        finished_at=timezone.now(),
        outcome=SyncOutcome.SUCCEEDED,
        error=", ".join(f"{kind}: {n} deleted" for kind, n in deleted.items()),
    )
    return deleted


def _thin(since: datetime | None, until: datetime, size: timedelta) -> int:
    """Keeps the last snapshot of each `size` bucket (UTC hour or day) in [since, until); returns deleted."""
    rows = BalanceSnapshot.objects.filter(taken_at__lt=until)
    if since is not None:
        rows = rows.filter(taken_at__gte=since)
    trunc = TruncHour if size == timedelta(hours=1) else TruncDay
    crowded = (
        rows.annotate(bucket=trunc("taken_at", tzinfo=UTC))
        .values("account_id", "bucket")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("account_id", "bucket")
    )
    spans: dict[int, tuple[datetime, datetime]] = {}
    for account_id, bucket in crowded:
        low, high = spans.get(account_id, (bucket, bucket))
        spans[account_id] = (min(low, bucket), max(high, bucket))
    deleted = 0
    # One account at a time keeps each delete, and the lock it takes, short.
    for account_id, (low, high) in spans.items():
        seen: set[datetime] = set()
        doomed = []
        snapshots = rows.filter(account_id=account_id, taken_at__gte=low, taken_at__lt=high + size)
        for pk, taken_at in snapshots.order_by("-taken_at", "-pk").values_list("pk", "taken_at"):
            bucket = _bucket(taken_at, size)
            if bucket in seen:
                doomed.append(pk)
            else:
                seen.add(bucket)
        for batch in chunked(doomed, 500):
            deleted += BalanceSnapshot.objects.filter(pk__in=batch).delete()[0]
    return deleted


def _bucket(moment: datetime, size: timedelta) -> datetime:
    return _floor_hour(moment) if size == timedelta(hours=1) else _floor_day(moment)
