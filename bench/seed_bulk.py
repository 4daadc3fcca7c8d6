"""The seeding's bulk writes: rows as plain tuples straight into the tables (executemany on SQLite, COPY on
PostgreSQL), money as six-place text from integer micro-dollars, and a timer that reports each step."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta


def micro_text(value: int) -> str:
    """Micro-dollars as a six-place decimal string (the precision of the money columns)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 1_000_000}.{value % 1_000_000:06d}"


class Loader:
    """Bulk insert of plain tuples: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.rows = 0
        if self.vendor == "sqlite":
            # A throw-away database: no fsync per commit, a big page cache while the indexes grow.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-400000")
                cursor.execute("PRAGMA temp_store=MEMORY")

    def when(self, moment: datetime) -> str:
        """A UTC instant as the column text each backend stores (naive UTC on SQLite, as Django writes)."""
        text = moment.replace(tzinfo=None).isoformat(" ")
        return text if self.vendor == "sqlite" else text + "+00:00"

    def grid(self, first: datetime, step: timedelta, count: int) -> list[str]:
        """`count` instants `step` apart from `first`, as column text (computed once for every account)."""
        suffix = "" if self.vendor == "sqlite" else "+00:00"
        base = first.replace(tzinfo=None)
        return [(base + k * step).isoformat(" ") + suffix for k in range(count)]

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of the table's indexes that no constraint owns."""
        with self.connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master"
                    " WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
                    " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                    [table],
                )
            return cursor.fetchall()

    def load(self, model, columns: list[str], rows) -> int:
        """Inserts the rows; the table's secondary indexes are dropped first and built once at the end."""
        table = model._meta.db_table
        indexes = self._secondary_indexes(table)
        with self.connection.cursor() as cursor:
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        count = self._insert(table, columns, rows)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # Django's foreign keys are deferred: check them now, or PostgreSQL refuses CREATE INDEX.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _, create in indexes:
                cursor.execute(create)
        return count

    def _insert(self, table: str, columns: list[str], rows) -> int:
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        self.connection.ensure_connection()
        raw = self.connection.connection
        if self.vendor == "sqlite":
            # Table and column names come from the models, never from input.
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 50_000:
                    raw.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                raw.executemany(sql, batch)
                count += len(batch)
        else:
            with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        self.rows += count
        return count


def timed(label: str, timings: dict[str, float]):
    """A context manager that stores the seconds its block took in `timings[label]` and prints them."""

    class _T:
        def __enter__(self):
            self.t = time.perf_counter()

        def __exit__(self, *exc):
            timings[label] = round(time.perf_counter() - self.t, 2)
            print(f"  {label}: {timings[label]:.1f} s", file=sys.stderr, flush=True)

    return _T()
