"""Bounds and minimums of every amount people can send to Cloudflare (top-up, auto top-up, spending limit,
gateway rules), including Cloudflare's last-known top-up range of each account.

Forms validate against them and operations compute the live ranges from them; both import them from here.
The top-up range is stored in the database (`TopUpRange`) by any sync of the account
(`billing.sync.topup_range`), so a page or a submit reads it without asking Cloudflare, and a cache clear or a
restart keeps it.
"""

from dataclasses import dataclass

from django.conf import settings

from billing.models import Account, TopUpRange
from billing.money import cents_to_dollars, dollars_to_cents, format_money

# The reference's minimums, used whenever Cloudflare's own limits are not known.
TOPUP_MIN_CENTS = 1000
AUTO_TOPUP_AMOUNT_MIN_CENTS = 1000
AUTO_TOPUP_THRESHOLD_MIN_CENTS = 500
SPENDING_LIMIT_MIN_CENTS = 100
# A gateway rule's budget (dollars on the wire): at least a cent, at most GATEWAY_RULE_MAX_DOLLARS.
GATEWAY_RULE_MIN_CENTS = 1
# A rule's window: Cloudflare's sandbox enforces windows under a minute per minute; a year is plenty.
GATEWAY_RULE_WINDOW_MIN_SECONDS = 60
GATEWAY_RULE_WINDOW_MAX_SECONDS = 366 * 86400
# Cloudflare's documented maximum of spend-limit rules on one gateway; a 21st is refused before it is sent.
GATEWAY_RULES_MAX = 20
# Twelve digits of dollars is far past any real amount; longer input is refused before any arithmetic.
MAX_DOLLAR_DIGITS = 12


def portal_max_cents() -> int:
    """The portal's own ceiling for one top-up (TOPUP_MAX_DOLLARS), in cents."""
    return dollars_to_cents(settings.TOPUP_MAX_DOLLARS)


def gateway_rule_max_cents() -> int:
    """The portal's ceiling for one gateway rule's budget (GATEWAY_RULE_MAX_DOLLARS), in cents."""
    return dollars_to_cents(settings.GATEWAY_RULE_MAX_DOLLARS)


@dataclass(frozen=True)
class Bounds:
    """Inclusive range of an amount, in cents."""

    min_cents: int
    max_cents: int


def spending_limit_max_cents() -> int:
    """The portal's ceiling for a spending limit (SPENDING_LIMIT_MAX_DOLLARS), in cents."""
    return dollars_to_cents(settings.SPENDING_LIMIT_MAX_DOLLARS)


def topup_range_text(bounds: Bounds) -> str:
    """Where each end of a top-up range comes from, in a sentence for the form: Cloudflare's limits for the
    account when they are known and narrower, else the reference's minimum and the portal's maximum."""
    low, high = (format_money(cents_to_dollars(cents)) for cents in (bounds.min_cents, bounds.max_cents))
    from_cloudflare_max = bounds.max_cents < portal_max_cents()
    from_cloudflare_min = bounds.min_cents != TOPUP_MIN_CENTS
    if from_cloudflare_max:
        return f"Cloudflare allows {low} to {high} for this account."
    if from_cloudflare_min:
        return f"From {low} to {high}: Cloudflare's minimum for this account and the portal's maximum."
    return f"From {low} to {high}: Cloudflare's minimum and the portal's maximum."


def topup_bounds(account: Account) -> Bounds:
    """The allowed top-up range in cents: Cloudflare's last known range for the account, else the reference
    minimum; never above the portal's own maximum (TOPUP_MAX_DOLLARS)."""
    known = TopUpRange.objects.filter(account=account).values_list("min_cents", "max_cents").first()
    low, high = known or (TOPUP_MIN_CENTS, None)
    ceiling = portal_max_cents()
    high = min(high, ceiling) if high else ceiling
    return Bounds(min_cents=low, max_cents=max(high, low))


def auto_topup_bounds(account: Account) -> tuple[Bounds, Bounds]:
    """(amount, threshold) ranges of the account's auto top-up, in cents: each at most what one top-up may
    be, the amount at least what one top-up must be."""
    topup = topup_bounds(account)
    amount_min = max(AUTO_TOPUP_AMOUNT_MIN_CENTS, topup.min_cents)
    return Bounds(amount_min, topup.max_cents), Bounds(AUTO_TOPUP_THRESHOLD_MIN_CENTS, topup.max_cents)
