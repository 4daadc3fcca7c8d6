"""Proposed fixes for the pages that miss their targets, as drop-in replacements the benchmark can patch in
(`python -m bench.pages --proposals`) to measure them before anyone changes the portal. Nothing here is used
by the portal itself; each function names the code it would replace.

`check()` proves each replacement returns exactly what the original does on the seeded database.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import reduce


def figures_for_accounts(accounts: Iterable, now: datetime | None = None) -> dict:
    """Replacement for billing.figures.figures_for_accounts.

    The original sums every hour row since the earliest span start per UTC day in SQL
    (TruncDay + GROUP BY: on SQLite a Python function call per row, ~120,000 rows for 200 accounts with
    monthly limits). A day wholly inside a span is counted from its day row whenever there is one, so the hour
    rows are needed only for the days a span cuts and the days without a day row: this version fetches just
    those (a few per account) and sums them in Python. Same figures, one query fewer.
    """
    from django.conf import settings
    from django.db.models import Exists, OuterRef, Q, Subquery
    from django.utils import timezone

    from billing import figures as f
    from billing.models import Account, BalanceSnapshot, SyncOutcome, SyncRun, UsageRecord, UsageWindow

    now = now or timezone.now()
    ids = [a.pk if isinstance(a, Account) else int(a) for a in accounts]
    if not ids:
        return {}
    latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at", "-pk")
    balance_runs = SyncRun.objects.filter(
        account=OuterRef("pk"), job="balance", outcome=SyncOutcome.SUCCEEDED
    ).order_by("-started_at")
    rows = (
        Account.objects.filter(pk__in=ids)
        .select_related("spending_limit")
        .annotate(
            latest_balance=Subquery(latest.values("balance")[:1]),
            latest_taken_at=Subquery(latest.values("taken_at")[:1]),
            data_as_of=Subquery(balance_runs.values("finished_at")[:1]),
            usage_synced=Exists(
                SyncRun.objects.filter(account=OuterRef("pk"), job="usage", outcome=SyncOutcome.SUCCEEDED)
            ),
        )
    )
    accounts_by_id = {row.pk: row for row in rows}

    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    limits = {}
    for pk, row in accounts_by_id.items():
        spans[pk] = [f._spend_span(now)]
        limit = f._limit_of(row)
        if limit is not None:
            limits[pk] = limit
            spans[pk].append((f.limit_window_start(limit.duration, limit.strategy, now), now))
    earliest = f._utc_day(min(start for account_spans in spans.values() for start, _ in account_spans))

    usage: dict[int, f._Usage] = defaultdict(f._Usage)
    recent = UsageRecord.objects.filter(account_id__in=ids, start__gte=earliest, start__lt=now)
    for account_id, at, value in recent.filter(window=UsageWindow.DAY).values_list(
        "account_id", "start", "value"
    ):
        days = usage[account_id].days
        days[f._utc_day(at)] = days.get(f._utc_day(at), f.ZERO) + value
    # Hour rows only for the days a span cuts and the whole days that have no day row.
    # Grouped by day, since most accounts need the same few days (today, the edge of a sliding window):
    # a handful of conditions rather than one per account and day, which costs the ORM more than the query.
    accounts_by_day: dict[datetime, list[int]] = defaultdict(list)
    for pk, account_spans in spans.items():
        days = usage[pk].days if pk in usage else {}
        needed: set[datetime] = set()
        for start, end in account_spans:
            needed |= f._edge_days(start, end)
            day = f._utc_day(start)
            while day < end:
                if day not in days:
                    needed.add(day)
                day += f.DAY
        for day in needed:
            accounts_by_day[day].append(pk)
    wanted = [
        Q(account_id__in=pks, start__gte=day, start__lt=day + f.DAY) for day, pks in accounts_by_day.items()
    ]
    if wanted:
        hours = recent.filter(reduce(operator.or_, wanted), window=UsageWindow.HOUR)
        for account_id, at, value in hours.values_list("account_id", "start", "value"):
            account_usage = usage[account_id]
            account_usage.hours.append((at, value))
            day = f._utc_day(at)
            account_usage.hour_days[day] = account_usage.hour_days.get(day, f.ZERO) + value

    stale_before = now - timedelta(minutes=settings.STALE_AFTER_MINUTES)
    figures = {}
    for pk, row in accounts_by_id.items():
        account_usage = usage.get(pk, f._Usage())
        spend_per_day = None
        if row.usage_synced or not account_usage.empty:
            start, end = spans[pk][0]
            spend_per_day = (account_usage.spend(start, end) / f.SPEND_DAYS).quantize(f.MICRO)
        limit_spent = limit_used = None
        limit = limits.get(pk)
        if limit is not None:
            limit_spent = account_usage.spend(*spans[pk][1])
            if limit.amount > 0:
                limit_used = (limit_spent * 100 / limit.amount).quantize(f.TENTH)
        figures[pk] = f.AccountFigures(
            account_id=pk,
            balance=row.latest_balance,
            balance_taken_at=row.latest_taken_at,
            spend_per_day=spend_per_day,
            runway_days=f.runway(row.latest_balance, spend_per_day),
            limit_spent=limit_spent,
            limit_used_percent=limit_used,
            data_as_of=row.data_as_of,
            is_stale=row.data_as_of is None or row.data_as_of < stale_before,
        )
    return figures


def balance_points(account, since: datetime, limit: int) -> list:
    """The points billing.views.account.balance_chart draws, thinned in SQL rather than in Python.

    The original loads every snapshot of 30 days (8,640 at one per 5 minutes) and keeps every step-th;
    here the database numbers the rows and returns only those (and the last), about `limit` rows.
    """
    from django.db.models import F, Window
    from django.db.models.functions import Mod, RowNumber

    rows = account.balance_snapshots.filter(taken_at__gte=since)
    count = rows.count()
    step = max(1, -(-count // limit))
    if step == 1:
        return list(rows.order_by("taken_at").values_list("taken_at", "balance"))
    numbered = rows.annotate(row=Window(RowNumber(), order_by=F("taken_at").asc())).annotate(
        skip=Mod(F("row") - 1, step)
    )
    points = list(numbered.filter(skip=0).order_by("taken_at").values_list("taken_at", "balance"))
    last = rows.order_by("-taken_at").values_list("taken_at", "balance").first()
    if last is not None and points[-1] != last:
        points.append(last)
    return points


def balance_chart(account, since: datetime):
    """Replacement for billing.views.account.balance_chart (same chart, points thinned in SQL)."""
    from billing import charts
    from billing.models import TopUpStatus
    from billing.money import cents_to_dollars, format_money
    from billing.views import account as view

    points = balance_points(account, since, view.MAX_LINE_POINTS)
    topups = account.topups.filter(status=TopUpStatus.COMPLETED, completed_at__gte=since).only(
        "completed_at", "amount_cents"
    )
    markers = [
        (topup.completed_at, f"Top-up {format_money(cents_to_dollars(topup.amount_cents))}")
        for topup in topups
    ]
    return charts.line_chart(points, title=f"Balance, last {view.CHART_DAYS} days", markers=markers)


def apply() -> list[str]:
    """Patches the proposals into the running portal (this process only); returns what was patched."""
    from billing import figures
    from billing.views import account, overview

    figures.figures_for_accounts = figures_for_accounts
    overview.figures_for_accounts = figures_for_accounts
    account.balance_chart = balance_chart
    return ["billing.figures.figures_for_accounts", "billing.views.account.balance_chart"]


def check() -> dict:
    """Compares each proposal with the original on every seeded account; returns the differences found."""
    from django.utils import timezone

    from billing import figures
    from billing.models import Account
    from billing.views import account as view

    now = timezone.now()
    accounts = list(Account.objects.order_by("pk"))
    before = figures.figures_for_accounts(accounts, now)
    after = figures_for_accounts(accounts, now)
    figure_diffs = [pk for pk in before if before[pk] != after.get(pk)]
    since = now - timedelta(days=view.CHART_DAYS)
    chart_diffs = [a.pk for a in accounts[:20] if view.balance_chart(a, since) != balance_chart(a, since)]
    return {"accounts": len(accounts), "figures_differ": figure_diffs, "charts_differ_of_20": chart_diffs}
