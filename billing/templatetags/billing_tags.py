"""Display helpers for templates: money, signs, relative times."""

from datetime import datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html

from billing.money import cents_to_dollars, format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "usd") -> str:
    """ "$1,204.50", "-$1.35"; "–" when there is no amount."""
    return format_money(amount, currency or "usd")


@register.filter
def cents(amount_cents: int | None) -> str:
    """Integer cents shown as dollars."""
    if amount_cents is None:
        return format_money(None)
    return format_money(cents_to_dollars(amount_cents))


@register.filter
def negclass(amount: Decimal | None) -> str:
    """ "negative" for an amount below zero (styled red), else nothing."""
    return "negative" if amount is not None and amount < 0 else ""


@register.simple_tag
def money_html(amount: Decimal | None, currency: str = "usd") -> str:
    """The amount in a span that turns red when negative (never clamped to zero)."""
    if amount is not None and amount < 0:
        return format_html('<span class="negative">{}</span>', format_money(amount, currency))
    return format_money(amount, currency)


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return "less than a minute"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 and unit != 'min' else ''}"
    return ""


@register.filter
def ago(moment: datetime | None) -> str:
    """ "5 min ago", "in 3 hours", "just now"; "never" for no time."""
    if moment is None:
        return "never"
    delta = timezone.now() - moment
    if abs(delta.total_seconds()) < 60:
        return "just now"
    return f"{_span(delta)} ago" if delta.total_seconds() > 0 else f"in {_span(delta)}"


@register.filter
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


@register.filter
def percent(value: Decimal | float | None) -> str:
    if value is None:
        return "–"
    return f"{Decimal(value).quantize(Decimal(1))}%"


@register.simple_tag
def can_read_audit(user) -> bool:
    """Whether to show the audit log link (admins of some account, superusers)."""
    from billing.permissions import is_admin_anywhere

    return is_admin_anywhere(user)


@register.filter
def stale_class(figures) -> str:
    return "stale" if figures is None or figures.is_stale else ""


@register.filter
def per_window(duration: str) -> str:
    """ "/day", "/week", "/month" for a spending-limit duration."""
    return {"daily": "/day", "weekly": "/week", "monthly": "/month"}.get(duration or "", "")


@register.filter
def strategy_label(strategy: str) -> str:
    """ "fixed window" / "sliding window" for a spending-limit strategy."""
    from billing.models import LimitStrategy

    return LimitStrategy(strategy).label.lower() if strategy in LimitStrategy.values else strategy


@register.filter
def duration_label(duration: str) -> str:
    from billing.models import LimitDuration

    return LimitDuration(duration).label if duration in LimitDuration.values else duration
