"""Lists a page at a time: `limit` (1–100, default 50) and `offset`, with the total count."""

from __future__ import annotations

from django.db.models import QuerySet
from ninja import Schema
from pydantic import Field

MAX_LIMIT = 100


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


def page_of(rows: QuerySet, query: PageQuery) -> tuple[int, list]:
    """(how many rows in all, the rows of the page)."""
    return rows.count(), list(rows[query.offset : query.offset + query.limit])
