"""How figures read on every page, email and alert: the one formatting of a relative time, a runway, a
percentage and a limit's window (money itself is formatted by `billing.money.format_money`)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return "less than a minute"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 and unit != 'min' else ''}"
    return ""


def ago(moment: datetime | None) -> str:
    """ "5 min ago", "in 3 hours", "just now"; "never" for no time."""
    if moment is None:
        return "never"
    delta = timezone.now() - moment
    if abs(delta.total_seconds()) < 60:
        return "just now"
    return f"{_span(delta)} ago" if delta.total_seconds() > 0 else f"in {_span(delta)}"


def days(value: Decimal | float | None) -> str:
    """A runway: "31 days", "1 day", "under 1 day", "0 days"; "–" when unknown (no spend, or no data)."""
    if value is None:
        return "–"
    if 0 < value < 1:
        return "under 1 day"
    whole = int(Decimal(value).to_integral_value(rounding="ROUND_FLOOR"))
    whole = max(whole, 0)
    if whole > 999:
        return "999+ days"
    return f"{whole} day{'s' if whole != 1 else ''}"


def percent(value: Decimal | float | None) -> str:
    if value is None:
        return "–"
    return f"{Decimal(value).quantize(Decimal(1))}%"


def per_window(duration: str) -> str:
    """ "/day", "/week", "/month" for a spending-limit duration."""
    return {"daily": "/day", "weekly": "/week", "monthly": "/month"}.get(duration or "", "")


def window_length(seconds: int | None) -> str:
    """A rule's window (seconds on the wire) in words: "7 days", "24 hours", "90 min", "45 s"."""
    if not seconds:
        return "–"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 and unit != 'min' else ''}"
    return f"{seconds} s"


def resets_in(moment: datetime | None) -> str:
    """ "in 3 hours" for a time ahead, "now" for one passed."""
    if moment is None:
        return "–"
    delta = moment - timezone.now()
    return "now" if delta.total_seconds() <= 0 else f"in {_span(delta)}"


def share(part, whole) -> str:
    """`part` as a percentage of `whole` to one place, "–" without a whole."""
    if not whole:
        return "–"
    return f"{(Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal('0.1'))}%"
