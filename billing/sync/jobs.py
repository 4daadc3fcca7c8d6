"""Running a sync job for one account or many: the one path that the Celery tasks, `manage.py sync` and
"Refresh now" share (through `billing.pipeline`, which evaluates the alerts after it).

A job for one account is a list of units (`runs.run_unit`): "balance" (the balance, then the spending limit
when due), "usage" (then the gateways when due, and the spend analytics), "invoices", "gateways", or
"account" (all of them, in that order, the spending limit and the gateways always); every job then fetches
Cloudflare's top-up range when it is due (`topup_range.topup_range_units`).
`run_job` runs one job for many accounts on a few threads; a failing account is recorded and the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from billing import clients
from billing.models import Account, SyncJob
from billing.sync.balance import balance_due_ids, balance_units
from billing.sync.gateways import gateway_units
from billing.sync.invoices import invoice_units
from billing.sync.runs import (
    UnitResult,
    describe,
    retry_after,
)
from billing.sync.slots import job_slice
from billing.sync.threads import run_in_threads
from billing.sync.topup_range import topup_range_units
from billing.sync.usage import usage_units


def account_units(account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    """Every job for one account: balance and spending limit, usage (with the first-sync backfill, or
    `backfill_days`), invoices and the invoice preview. One failing does not stop the others."""
    return (
        balance_units(account, always_fetch_limit=True)
        + usage_units(account, backfill_days, always_fetch_gateways=True)
        + invoice_units(account)
    )


JOB_UNITS: dict[str, Callable[..., list[UnitResult]]] = {
    SyncJob.BALANCE: lambda account, backfill_days=None: balance_units(account),
    # The balance with the spending limit whether due or not (the read that settles a limit change).
    SyncJob.SPENDING_LIMIT: lambda account, backfill_days=None: balance_units(
        account, always_fetch_limit=True
    ),
    SyncJob.USAGE: usage_units,
    SyncJob.INVOICES: invoice_units,
    SyncJob.GATEWAYS: gateway_units,
    SyncJob.ACCOUNT: account_units,
}


def units_of(job: str, account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    """The units of `job` for one account, then the top-up range's when it is due and the job's main unit did
    not fail (a failing token or API would fail it too); the first result is the job's main unit."""
    results = JOB_UNITS[job](account, backfill_days=backfill_days)
    if results and results[0].error is None:
        results += topup_range_units(account)
    return results


def run_units(job: str, account: Account, backfill_days: int | None = None) -> list[UnitResult]:
    """One job for one account; the first result is the job's main unit (the balance for "account")."""
    results = units_of(job, account, backfill_days)
    clients.flush_api_call_counts()
    return results


@dataclass
class UnitCounts:
    """How one unit (balance, spending_limit, usage, invoices …) went over the accounts of a job."""

    synced: int = 0
    failed: int = 0
    skipped: int = 0  # another run held the (unit, account) lock: it was running elsewhere

    def __str__(self) -> str:
        return (
            f"{self.synced} synced, {self.failed} failed, {self.skipped} skipped (already running elsewhere)"
        )


@dataclass
class JobSummary:
    """The outcome of one job over many accounts. `succeeded` / `failed` / `skipped` count accounts by the
    job's main unit (the balance for "account"); `units` counts every unit on its own. `retry` lists the
    accounts whose failure may pass."""

    job: str
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    api_calls: int = 0
    retry: list[int] = field(default_factory=list)
    retry_after: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)  # cloudflare id -> error of its failed main unit
    units: dict[str, UnitCounts] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (unit, cloudflare id, error)

    def add(self, account: Account, results: list[UnitResult]) -> None:
        first = results[0]
        self.api_calls += sum(r.run.api_calls for r in results if r.run is not None)
        for result in results:
            self._count_unit(account, result)
        if first.skipped and first.error is None:
            self.skipped += 1
        elif first.error is None:
            self.succeeded += 1
        else:
            self.failed += 1
            self.errors[account.cloudflare_id] = describe(first.error)
            wait = retry_after(first.error)
            if wait is not None:
                self.retry.append(account.pk)
                self.retry_after = max(self.retry_after, wait)

    def _count_unit(self, account: Account, result: UnitResult) -> None:
        counts = self.units.setdefault(result.job or self.job, UnitCounts())
        if result.error is not None:
            counts.failed += 1
            self.failures.append((result.job or self.job, account.cloudflare_id, describe(result.error)))
        elif result.skipped:
            counts.skipped += 1
        else:
            counts.synced += 1

    def unit_errors(self) -> list[tuple[str, str]]:
        """(unit, error) of every failed unit, in the order they were recorded."""
        return [(unit, error) for unit, _, error in self.failures]

    def lines(self) -> list[str]:
        """One line per unit, e.g. "usage: 3 synced, 0 failed, 1 skipped (already running elsewhere)"."""
        if not self.units:
            return [f"{self.job}: {UnitCounts()}"]
        return [f"{unit}: {counts}" for unit, counts in self.units.items()]


def active_account_ids() -> list[int]:
    return list(Account.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


def sweep_account_ids(job: str, start: datetime, account_ids: list[int] | None = None) -> list[int]:
    """The accounts the sweep of `job` in the slot starting at `start` sends: for "usage" and "invoices" the
    slot's slice, for "balance" those due (`balance_due`), for the others every active account."""
    ids = active_account_ids() if account_ids is None else account_ids
    if job in (SyncJob.USAGE, SyncJob.INVOICES):
        return job_slice(job, ids, start)
    if job == SyncJob.BALANCE:
        return balance_due_ids(ids, start)
    return ids


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
    after_account: Callable[[str, Account, list[UnitResult]], None] | None = None,
) -> JobSummary:
    """Runs `job` ("balance", "usage", "invoices" or "account" for all of them) for each active account in
    `account_ids`, on up to `threads` threads (default SYNC_THREADS). A failing account is recorded and the
    others go on. `after_account(job, account, results)` runs on the account's thread once its units are
    done (`billing.pipeline` evaluates alerts there); `on_done` is told of each account, one at a time.
    Setting `stop` lets the running units finish and starts no more."""
    accounts = list(Account.objects.filter(pk__in=list(account_ids), is_active=True).order_by("pk"))
    summary = JobSummary(job)
    lock = threading.Lock()

    def one(account: Account) -> None:
        results = units_of(job, account, backfill_days)
        if after_account is not None:
            after_account(job, account, results)
        with lock:
            summary.add(account, results)
            if on_done is not None:
                on_done(account, results)

    run_in_threads(one, accounts, threads or settings.SYNC_THREADS, stop or threading.Event())
    clients.flush_api_call_counts()
    return summary
