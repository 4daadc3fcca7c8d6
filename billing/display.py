"""How figures read on every page, email and alert: the one formatting of a relative time, a runway, a
percentage and a limit's window (money itself is formatted by `billing.money.format_money`)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.money import seconds_to_window


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


def rule_window(seconds: int | None) -> str:
    """A gateway rule's window in words: "1 day", "7 days", "90 minutes", "45 seconds"; "–" when unknown."""
    if not seconds:
        return "–"
    number, unit = seconds_to_window(int(seconds))
    return f"{number} {unit[:-1] if number == 1 else unit}"
