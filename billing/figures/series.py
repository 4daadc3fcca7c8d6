"""Series the pages chart and tabulate: balance points, usage summed per bucket, where the usage history
starts. Gateway spend over a range is `figures.gateway_spend`'s.

Local tables only, a fixed number of queries each; the per-account "latest" reads are manager methods
(`BalanceSnapshot.objects.latest_for`, `AlertEvent.objects.open_by_account`, `SyncRun.objects.last_finished`),
and a reverse one-to-one row is `Account.one_to_one`.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, F, Func, IntegerField, Max, Sum, Value, Window
from django.db.models.functions import Mod, RowNumber
from django.db.models.lookups import GreaterThan
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from billing.figures import charts
from billing.models import (
    Account,
    UsageRecord,
    UsageWindow,
)

# Enough points for a smooth line at any screen width; more only costs bytes.
MAX_LINE_POINTS = 360


def balance_points(account: Account, since: datetime, limit: int = MAX_LINE_POINTS) -> list:
    """[(taken_at, balance)] since `since`: at most about `limit` evenly spaced snapshots, and always the last
    one (the current balance).

    Thinned by the database, which numbers the rows and returns every step-th: 30 days of 5-minute
    snapshots are 8,640 rows, and turning them all into Python objects to keep 360 was most of the page."""
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
    if last is not None and (not points or points[-1] != last):
        points.append(last)
    return points


class BucketIndex(Func):
    """The index of the `step`-second bucket, counted from `origin` (both whole seconds since the epoch), that
    a datetime column falls in: lets the database sum usage into wider buckets (a year of hours into days)."""

    output_field = IntegerField()

    def __init__(self, expression: Expression | str, origin: int, step: int) -> None:
        super().__init__(expression)
        # Integers, written into the SQL as such, so PostgreSQL groups by exactly the expression it selects.
        self.origin = int(origin)
        self.step = int(step)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[str | int] | tuple[str | int, ...]]:
        """The whole expression's SQL (Func's function, template and joiner are not used)."""
        column, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "sqlite":
            epoch = f"CAST(strftime('%%s', {column}) AS INTEGER)"
        else:
            epoch = f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
        return f"(({epoch} - {self.origin}) / {self.step})", params


def bucket_label(window: str, start: datetime) -> str:
    """Day buckets by their UTC date, as Cloudflare cuts them; hour buckets in local time."""
    if window == UsageWindow.HOUR:
        return timezone.localtime(start).strftime("%Y-%m-%d %H:%M")
    return start.astimezone(UTC).strftime("%Y-%m-%d")


def range_bounds(window: str, first: date, last: date) -> tuple[datetime, datetime]:
    """The instants the days first..last (both included) cover: UTC days for day buckets (Cloudflare cuts days
    in UTC), the portal's own days for hour buckets. The usage page's, its CSV's and the API's range."""
    zone = UTC if window == UsageWindow.DAY else timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def records(account: Account, window: str, start: datetime, end: datetime | None = None):
    """The account's usage rows of `window` starting in [start, end)."""
    rows = UsageRecord.objects.filter(account=account, window=window, start__gte=start)
    return rows if end is None else rows.filter(start__lt=end)


def still_running() -> GreaterThan:
    """Whether a bucket's last summary ends after now (to annotate grouped usage rows with), decided by the
    database: reading every bucket's end only to compare it would cost a year of hours a conversion each."""
    return GreaterThan(Max("end"), Value(timezone.now()))


def usage_rows(account: Account, window: str, start: datetime, end: datetime | None = None):
    """Usage summed per stored bucket (over Cloudflare's summaries) from `start` up to `end`: a values
    queryset of start, total and partial (the bucket is still running), oldest first."""
    return (
        records(account, window, start, end)
        .values("start")
        .annotate(total=Sum("value"), partial=still_running())
        .order_by("start")
    )


def usage_buckets(
    account: Account, window: str, start: datetime, end: datetime | None = None, step: timedelta | None = None
) -> list[charts.Bar]:
    """Usage per bucket from `start`; a bucket still running is partial.

    With a `step` longer than the window, the database sums the stored buckets into `step`-long ones counted
    from `start`, so a chart over a year of hours gets a few hundred bars and reads a few hundred rows."""
    native = timedelta(hours=1) if window == UsageWindow.HOUR else timedelta(days=1)
    if step is None or step <= native:
        rows = usage_rows(account, window, start, end).values_list("start", "total", "partial")
    else:
        rows = [
            (start + bucket * step, total, partial)
            for bucket, total, partial in records(account, window, start, end)
            .annotate(bucket=BucketIndex("start", int(start.timestamp()), int(step.total_seconds())))
            .values("bucket")
            .annotate(total=Sum("value"), partial=still_running())
            .order_by("bucket")
            .values_list("bucket", "total", "partial")
        ]
    return [
        charts.Bar(start=at, value=total, label=bucket_label(window, at), partial=bool(partial))
        for at, total, partial in rows
    ]


def usage_history_start(account: Account, window: str) -> datetime | None:
    """Where the local history of `window` starts (the oldest stored bucket), or None without any."""
    return (
        UsageRecord.objects.filter(account=account, window=window)
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
