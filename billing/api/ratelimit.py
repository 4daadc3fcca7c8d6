"""The API's rate limit: API_RATE_LIMIT_PER_MINUTE requests per token per clock minute, counted in the
database (`ApiRequestCount`), so every web worker shares the count and it holds without Redis."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from billing.models import ApiRequestCount

WINDOW = timedelta(minutes=1)


def retry_after(token_id: int, now: datetime) -> int | None:
    """Counts one request of the token at `now`; returns None while within the limit, else the whole seconds
    until the window ends (at least 1), for a 429's Retry-After."""
    start = now.replace(second=0, microsecond=0)
    count = _count_one(token_id, start)
    if count <= settings.API_RATE_LIMIT_PER_MINUTE:
        return None
    return max(1, math.ceil((start + WINDOW - now).total_seconds()))


def _count_one(token_id: int, start: datetime) -> int:
    rows = ApiRequestCount.objects.filter(token_id=token_id, window_start=start)
    if rows.update(count=F("count") + 1):
        return rows.values_list("count", flat=True).get()
    try:
        with transaction.atomic():
            ApiRequestCount.objects.create(token_id=token_id, window_start=start, count=1)
    except IntegrityError:  # another worker opened the window first: count on its row
        rows.update(count=F("count") + 1)
        return rows.values_list("count", flat=True).get()
    # A new window: the token's past ones are of no more use.
    ApiRequestCount.objects.filter(token_id=token_id, window_start__lt=start).delete()
    return 1
