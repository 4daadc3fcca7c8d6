"""What a digest says about each account a person may see: balance and runway now, spend over the period
against the one before, where the money went (top models and gateways), and the alerts opened and resolved
in the period. Read from local tables only, worded as the pages word them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse

from billing import display
from billing.figures import AccountFigures, stored_figures
from billing.figures.digest import analytics_total, spend_between, top_spend
from billing.models import Account, AlertEvent, DigestFrequency
from billing.money import format_money

TOP = 5
MAX_ALERTS_LISTED = 10


@dataclass(frozen=True)
class AccountDigest:
    name: str
    url: str
    balance: str
    runway: str
    spend: str
    spend_amount: Decimal
    previous_spend: str
    change: str
    top_models: list[tuple[str, str, str]]  # (name, dollars, share of the period's spend)
    top_gateways: list[tuple[str, str, str]]
    opened: list[str]
    resolved: list[str]


def change_words(now: Decimal, before: Decimal, period: str = "period") -> str:
    """ "up 25% on the day before", "down 10% on …", "about the same as …", "nothing spent …"."""
    if before == 0:
        return (
            f"nothing spent the {period} before" if now else f"nothing spent this {period} or the one before"
        )
    change = (now - before) / before * 100
    if abs(change) < Decimal("0.5"):
        return f"about the same as the {period} before"
    word = "up" if change > 0 else "down"
    return f"{word} {display.percent(abs(change))} on the {period} before"


def _shares(rows: list[tuple], whole: Decimal) -> list[tuple[str, str, str]]:
    # Shares of the analytics' own total: their estimate and the usage rows need not agree to the cent.
    return [(name, format_money(amount), display.share(amount, whole)) for name, amount in rows]


def _alerts(account: Account, start: datetime, end: datetime) -> tuple[list[str], list[str]]:
    def words(event: AlertEvent) -> str:
        return event.headline

    events = AlertEvent.objects.filter(account=account)
    opened = events.filter(opened_at__gte=start, opened_at__lt=end).order_by("opened_at", "pk")
    resolved = events.filter(resolved_at__gte=start, resolved_at__lt=end).order_by("resolved_at", "pk")
    return [words(e) for e in opened[:MAX_ALERTS_LISTED]], [words(e) for e in resolved[:MAX_ALERTS_LISTED]]


def account_digest(
    account: Account, figures: AccountFigures | None, span: tuple[datetime, datetime, datetime], period: str
) -> AccountDigest:
    previous, start, end = span
    spend, before = spend_between(account.pk, start, end), spend_between(account.pk, previous, start)
    opened, resolved = _alerts(account, start, end)
    analytics = analytics_total(account.pk, start, end)
    return AccountDigest(
        name=account.name or account.cloudflare_id,
        url=settings.PORTAL_BASE_URL + reverse("account", args=[account.cloudflare_id]),
        balance=format_money(figures.balance) if figures else "unknown",
        runway=display.days(figures.runway_days) if figures and figures.balance is not None else "unknown",
        spend=format_money(spend),
        spend_amount=spend,
        previous_spend=format_money(before),
        change=change_words(spend, before, period),
        top_models=_shares(top_spend(account.pk, start, end, "model", TOP), analytics),
        top_gateways=_shares(top_spend(account.pk, start, end, "gateway", TOP), analytics),
        opened=opened,
        resolved=resolved,
    )


def period_label(frequency: str, start: datetime, end: datetime) -> str:
    """ "Monday 30 November 2026", "the week of Monday 23 November 2026"."""
    first = f"{start:%A} {start.day} {start:%B %Y}"
    return first if frequency == DigestFrequency.DAILY else f"the week of {first}"


def digest_context(
    user: User,
    accounts: Sequence[Account],
    frequency: str,
    span: tuple[datetime, datetime, datetime],
    now: datetime,
) -> dict[str, Any]:
    """The context of templates/emails/digest_*: one AccountDigest per account, and the totals."""
    _, start, end = span
    figures = stored_figures(accounts, now)
    word = "day" if frequency == DigestFrequency.DAILY else "week"
    rows = [account_digest(account, figures.get(account.pk), span, word) for account in accounts]
    total = sum((row.spend_amount for row in rows), Decimal(0))
    return {
        "user": user,
        "frequency": frequency,
        "period_word": word,
        "period": period_label(frequency, start, end),
        "zone": str(start.tzinfo),
        "accounts": rows,
        "total_spend": format_money(total),
        "settings_url": settings.PORTAL_BASE_URL + reverse("notification_settings"),
    }
