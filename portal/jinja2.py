"""The Jinja2 environment of the portal's few Jinja2 templates (the overview's rows and the partials they
share with the Django pages): the same display filters as `billing_tags`, autoescaped."""

from typing import Any

from jinja2 import Environment

from billing import display
from billing.money import format_money


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
        moment=display.moment,
    )
    return env
