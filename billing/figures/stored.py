"""Stored figures: computed when the data changes (after a sync or a change), read by the pages, so a page
never recomputes history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from billing.figures.compute import AccountFigures, compute, figures_for_accounts
from billing.figures.month import Month, current_month_start
from billing.figures.spend import DURATIONS, STRATEGIES, local_today, runway, spending_limit_of
from billing.models import (
    Account,
    AccountSummary,
    BalanceSnapshot,
)

# How long spend figures stored after a usage sync may be kept while only the balance changes.
SPEND_FIGURES_MAX_AGE = timedelta(hours=1)
SUMMARY_FIELDS = [
    "balance",
    "balance_taken_at",
    "spend_per_day",
    "runway_days",
    "limit_spent",
    "limit_used_percent",
    "limit_amount",
    "limit_duration",
    "limit_strategy",
    "data_as_of",
    "month_start",
    "month_to_date",
    "month_forecast",
    "month_history_days",
    "computed_at",
]


NO_LIMIT = (None, "", "")


def _limit_key(
    enabled: bool | None, amount: Decimal | None, duration: str | None, strategy: str | None
) -> tuple[Decimal | None, str, str]:
    """What the limit figures depend on: a usable limit's amount, duration and strategy (or NO_LIMIT)."""
    if not enabled or amount is None or duration not in DURATIONS or strategy not in STRATEGIES:
        return NO_LIMIT
    return (amount, duration, strategy)


def refresh_summaries(accounts: Iterable, now: datetime | None = None, batch: int = 500) -> int:
    """Computes the figures of these accounts (Account instances or ids) from their history and stores them
    in AccountSummary, one upsert per batch; returns how many were stored."""
    now = now or timezone.now()
    ids = [a.pk if isinstance(a, Account) else int(a) for a in accounts]
    stored = 0
    for offset in range(0, len(ids), batch):
        chunk = ids[offset : offset + batch]
        figures, limits = compute(chunk, now)
        rows = []
        for pk, figure in figures.items():
            limit = limits.get(pk)
            month = figure.month
            amount, duration, strategy = (
                NO_LIMIT if limit is None else _limit_key(True, limit.amount, limit.duration, limit.strategy)
            )
            rows.append(
                AccountSummary(
                    account_id=pk,
                    balance=figure.balance,
                    balance_taken_at=figure.balance_taken_at,
                    spend_per_day=figure.spend_per_day,
                    runway_days=figure.runway_days,
                    limit_spent=figure.limit_spent,
                    limit_used_percent=figure.limit_used_percent,
                    limit_amount=amount,
                    limit_duration=duration,
                    limit_strategy=strategy,
                    data_as_of=figure.data_as_of,
                    month_start=month.start if month else current_month_start(now),
                    month_to_date=month.to_date if month else None,
                    month_forecast=month.forecast if month else None,
                    month_history_days=month.history_days if month else 0,
                    computed_at=now,
                )
            )
        # An upsert, so two workers refreshing the same account at once cannot trip over each other.
        AccountSummary.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["account"],
            update_fields=SUMMARY_FIELDS,
        )
        stored += len(rows)
    return stored


def refresh_summary(account: Account | int, now: datetime | None = None) -> None:
    """Stores the account's figures as they are now; call it whenever the account's balance, usage or
    spending limit changed locally (sync does after each successful fetch)."""
    refresh_summaries([account], now)


def refresh_balance(account: Account | int, data_as_of: datetime | None, now: datetime | None = None) -> None:
    """After a successful balance sync (whose run finished at `data_as_of`): the latest balance, its runway
    and the new data-as-of into the stored figures, in two reads and a write.

    The spend figures are kept as stored: they change when usage is synced (hourly, which stores them
    again) and as time moves their windows along. So they are computed again here too when they were
    computed on another local day (the 7-day span and fixed limit windows start at local midnight) or
    more than SPEND_FIGURES_MAX_AGE ago (sliding windows), or when the account has no summary yet."""
    now = now or timezone.now()
    pk = account.pk if isinstance(account, Account) else int(account)
    stored = (
        AccountSummary.objects.filter(account_id=pk)
        .values_list("spend_per_day", "computed_at", "month_start")
        .first()
    )
    if (
        stored is None
        or stored[1] < now - SPEND_FIGURES_MAX_AGE
        or local_today(stored[1]) != local_today(now)
        or stored[2] != current_month_start(now)
    ):
        refresh_summaries([pk], now)
        return
    latest = (
        BalanceSnapshot.objects.filter(account_id=pk)
        .order_by("-taken_at", "-pk")
        .values_list("balance", "taken_at")
        .first()
    )
    balance, taken_at = latest or (None, None)
    AccountSummary.objects.filter(account_id=pk).update(
        balance=balance,
        balance_taken_at=taken_at,
        runway_days=runway(balance, stored[0]),
        data_as_of=data_as_of,
    )


# What stored_figures_of_rows reads: columns for Account.objects.values().
STORED_FIGURES_COLUMNS = [
    "pk",
    "summary__account",
    *(f"summary__{name}" for name in SUMMARY_FIELDS[:-1]),
    "spending_limit__enabled",
    "spending_limit__amount",
    "spending_limit__duration",
    "spending_limit__strategy",
]


def stored_figures(accounts: Iterable[Account], now: datetime | None = None) -> dict[int, AccountFigures]:
    """{account id: AccountFigures} as stored by the last refresh, for pages: one row per account rather than
    the usage history. Fetch the accounts with select_related("summary", "spending_limit") to read them
    without a query each. An account without a summary, or whose spending limit changed since, is computed
    from its history instead (a fixed number of queries for all such accounts together)."""
    rows = []
    for account in accounts:
        row: dict[str, object] = {"pk": account.pk, "summary__account": None}
        summary = _summary_of(account)
        if summary is not None:
            row["summary__account"] = account.pk
            row.update((f"summary__{name}", getattr(summary, name)) for name in SUMMARY_FIELDS[:-1])
        limit = spending_limit_of(account)
        if limit is not None:
            row.update(
                spending_limit__enabled=limit.enabled,
                spending_limit__amount=limit.amount,
                spending_limit__duration=limit.duration,
                spending_limit__strategy=limit.strategy,
            )
        rows.append(row)
    return stored_figures_of_rows(rows, now)


def stored_figures_of_rows(rows: Iterable[dict], now: datetime | None = None) -> dict[int, AccountFigures]:
    """stored_figures for rows of Account.objects.values(*STORED_FIGURES_COLUMNS): a page listing many
    accounts reads them without building four model instances per account."""
    now = now or timezone.now()
    stale_before = now - timedelta(minutes=settings.STALE_AFTER_MINUTES)
    this_month = current_month_start(now)
    figures: dict[int, AccountFigures] = {}
    missing = []
    for row in rows:
        pk = row["pk"]
        if row["summary__account"] is None:
            missing.append(pk)
            continue
        limit = _limit_key(
            row.get("spending_limit__enabled"),
            row.get("spending_limit__amount"),
            row.get("spending_limit__duration"),
            row.get("spending_limit__strategy"),
        )
        stored = (
            row["summary__limit_amount"],
            row["summary__limit_duration"],
            row["summary__limit_strategy"],
        )
        # A summary of another month (or written before the month figures) is computed again.
        if limit != stored or row["summary__month_start"] != this_month:
            missing.append(pk)
            continue
        data_as_of = row["summary__data_as_of"]
        figures[pk] = AccountFigures(
            account_id=pk,
            balance=row["summary__balance"],
            balance_taken_at=row["summary__balance_taken_at"],
            spend_per_day=row["summary__spend_per_day"],
            runway_days=row["summary__runway_days"],
            limit_spent=row["summary__limit_spent"],
            limit_used_percent=row["summary__limit_used_percent"],
            data_as_of=data_as_of,
            is_stale=data_as_of is None or data_as_of < stale_before,
            month=_stored_month(row),
        )
    if missing:
        figures.update(figures_for_accounts(missing, now))
    return figures


def _stored_month(row: dict) -> Month | None:
    """The month figures as stored; None for an account without usage (as compute leaves it)."""
    if row["summary__month_to_date"] is None:
        return None
    return Month(
        row["summary__month_start"],
        row["summary__month_to_date"],
        row["summary__month_forecast"],
        row["summary__month_history_days"],
    )


def _summary_of(account: Account) -> AccountSummary | None:
    try:
        return account.summary
    except Account.summary.RelatedObjectDoesNotExist:
        return None
