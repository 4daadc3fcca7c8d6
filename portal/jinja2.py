"""The Jinja2 environment of the portal's few Jinja2 templates (the overview's rows and the partials they
share with the Django pages): the same display filters as `billing_tags`, autoescaped."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from jinja2 import Environment

from billing import display
from billing.money import format_money


def local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A datetime in the portal's time zone, as `pattern`."""
    return timezone.localtime(moment).strftime(pattern) if moment else ""


def environment(**options: Any) -> Environment:
    env = Environment(**options)  # noqa: S701 (the backend passes autoescape=True)
    env.filters.update(
        money=format_money,
        ago=display.ago,
        days=display.days,
        percent=display.percent,
        per_window=display.per_window,
        auto_topup_reason=display.auto_topup_reason,
        auto_topup_fix=display.auto_topup_fix,
        local=local,
    )
    return env
