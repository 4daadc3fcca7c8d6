"""Display helpers for templates: money, signs, relative times."""

from decimal import Decimal

from django import template
from django.template import engines
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from billing import display
from billing.money import cents_to_dollars, format_money
from billing.operations.refresh import REFRESHES_ASKED

register = template.Library()

for _name in (
    "ago",
    "days",
    "percent",
    "per_window",
    "card_brand",
    "credit_type",
    "quantity",
    "auto_topup_reason",
    "auto_topup_fix",
    "window_length",
    "resets_in",
    "moment",
    "parameter_lines",
):
    register.filter(_name, getattr(display, _name))
register.filter("rule_window", display.rule_window)


@register.filter
def money(amount: Decimal | None, currency: str = "usd") -> str:
    """ "$1,204.50", "-$1.35"; "–" when there is no amount."""
    return format_money(amount, currency or "usd")


@register.filter
def count(value: int | None) -> str:
    """A count with thousands separators ("137,673"); "0" when there is none."""
    return f"{int(value or 0):,}"


@register.filter
def cents(amount_cents: int | None) -> str:
    """Integer cents shown as dollars."""
    if amount_cents is None:
        return format_money(None)
    return format_money(cents_to_dollars(amount_cents))


@register.simple_tag
def money_html(amount: Decimal | None, currency: str = "usd") -> str:
    """The amount in a span that turns red when negative (never clamped to zero)."""
    if amount is not None and amount < 0:
        return format_html('<span class="negative">{}</span>', format_money(amount, currency))
    return format_money(amount, currency)


@register.simple_tag
def can_read_audit(user) -> bool:
    """Whether to show the audit log link (admins of some account, superusers)."""
    from billing.permissions import is_admin_anywhere

    return is_admin_anywhere(user)


@register.filter
def stale_class(figures) -> str:
    return "stale" if figures is None or figures.is_stale else ""


@register.filter
def strategy_label(strategy: str) -> str:
    """ "fixed window" / "sliding window" for a spending-limit strategy."""
    from billing.models import LimitStrategy

    return LimitStrategy(strategy).label.lower() if strategy in LimitStrategy.values else strategy


@register.filter
def duration_label(duration: str) -> str:
    from billing.models import LimitDuration

    return LimitDuration(duration).label if duration in LimitDuration.values else duration


@register.filter(name="share")
def share(part, whole) -> str:
    return display.share(part, whole)


@register.filter
def date_range(first, last) -> str:
    """ "Dec 1, 2026 – Jan 1, 2027": a period with the year on both ends when they differ."""
    return display.date_range(first, last)


@register.filter
def unit_price(value: str | None, currency: str = "usd") -> str:
    """An invoice line's unit price (Stripe's decimal string, in the currency's minor unit) as money with all
    its digits: "0.01" cents reads "$0.0001"; "–" when Cloudflare sent none."""
    return display.unit_price(value, currency)


def _jinja_partial(name: str, **context) -> str:
    return mark_safe(engines["jinja2"].get_template(name).render(context))  # noqa: S308 (autoescaped)


@register.simple_tag
def auto_topup_state(config) -> str:
    """Auto top-up in one line, as the overview draws it (templates/jinja2/billing/_auto_topup_state.html)."""
    return _jinja_partial("billing/_auto_topup_state.html", config=config)


@register.simple_tag
def alert_badges(alerts, alerts_url: str) -> str:
    """Open alerts as badges, as the overview draws them (templates/jinja2/billing/alerts/_badges.html)."""
    return _jinja_partial("billing/alerts/_badges.html", alerts=alerts, alerts_url=alerts_url)


@register.filter
def asked_in(run, request) -> bool:
    """Whether this person asked for this refresh in this session (only they are told it finished)."""
    return run is not None and run.pk in request.session.get(REFRESHES_ASKED, [])


@register.simple_tag
def rule_resets(rule) -> str:
    """When a gateway rule's window frees up, in the one wording of `display.rule_resets`."""
    return display.rule_resets(rule.technique, rule.resets_at, rule.window_seconds)
