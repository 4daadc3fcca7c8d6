"""How figures read on every page, email and alert: the one formatting of a relative time, a runway, a
percentage and a limit's window (money itself is formatted by `billing.money.format_money`)."""

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from billing.money import format_money, minor_units_to_major, seconds_to_window


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


def moment(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A time in the reader's zone (the active one: a person's choice on pages, an email's recipient's or
    UTC), naming it: "2026-03-18 11:20 CET"; "" for no time. The one way every page and email shows a time."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.strftime(pattern)} {local.tzname() or timezone.get_current_timezone_name()}"


def parameter_lines(parameters: dict | None, prefix: str = "") -> list[tuple[str, str]]:
    """An audit entry's parameters as readable (key, value) pairs: nested objects flattened to "card.brand",
    lists joined with commas, nothing left as a Python repr."""
    lines: list[tuple[str, str]] = []
    for key, value in (parameters or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            lines.extend(parameter_lines(value, f"{name}."))
        elif isinstance(value, list | tuple):
            lines.append((name, ", ".join(str(item) for item in value) or "–"))
        else:
            lines.append((name, "–" if value in (None, "") else str(value)))
    return lines


def days(value: Decimal | float | None) -> str:
    """A runway, rounded down so it never promises more than there is: "1.9 days" under ten days (a whole
    number of days would read 1.94 as "1 day"), "31 days" from ten on, "under 0.1 days", "0 days"; "–" when
    unknown (no spend, or no data)."""
    if value is None:
        return "–"
    value = max(Decimal(value), Decimal(0))
    if value > 999:
        return "999+ days"
    places = Decimal("0.1") if value < 10 else Decimal(1)
    shown = value.quantize(places, rounding=ROUND_DOWN)
    if value > 0 and shown == 0:
        return "under 0.1 days"
    text = number(shown)
    return f"{text} day" if text == "1" else f"{text} days"


def percent(value: Decimal | float | None) -> str:
    """Whole percents, rounded down: a limit 99.6 % used reads "99%", never "100%" before it is reached, and
    one just past it reads "over 100%"."""
    if value is None:
        return "–"
    value = Decimal(value)
    whole = value.quantize(Decimal(1), rounding=ROUND_DOWN)
    if whole == 100 and value > 100:
        return "over 100%"  # never "100%" beside "above 100%"
    return f"{whole}%"


def plain_number(value: Decimal | float) -> str:
    """A number as it was set, without trailing zeros or an exponent: 80.000000 -> "80", 99.50 -> "99.5"."""
    return format(Decimal(value).normalize(), "f")


def threshold_percent(value: Decimal | float) -> str:
    """A threshold as it was set, unrounded: 80.000000 -> "80%", 99.5 -> "99.5%"."""
    return f"{plain_number(value)}%"


def per_window(duration: str) -> str:
    """ "/day", "/week", "/month" for a spending-limit duration."""
    return {"daily": "/day", "weekly": "/week", "monthly": "/month"}.get(duration or "", "")


def number(value: Decimal | float | int | None, places: int = 1) -> str:
    """ "1.5", "3", "12.3": at most `places` decimals, no trailing zeros; "–" when unknown."""
    if value is None:
        return "–"
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    text = f"{rounded:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def day_count(value: Decimal | float | int | None) -> str:
    """A number of days that is a setting, not a runway (an alert threshold): "3 days", "1.5 days"."""
    text = number(value)
    return f"{text} day" if text == "1" else f"{text} days"


def quantity(value: Decimal | int | None) -> str:
    """An invoice line's quantity with thousands separators: "15,401,797", "2.5"."""
    if value is None:
        return "–"
    value = Decimal(value)
    text = f"{value.normalize():,f}" if value != value.to_integral_value() else f"{int(value):,}"
    return text


def humanise(code: str) -> str:
    """An unknown machine code as words: "payment_method_expired" -> "payment method expired"."""
    return " ".join((code or "").replace("_", " ").replace("-", " ").split()).lower()


# Cloudflare's (Stripe's) reasons an auto top-up fails, as people say them, and what fixes each.
AUTO_TOPUP_REASONS = {
    "no_payment_method": "no card on file",
    "card_declined": "card declined",
    "insufficient_funds": "insufficient funds on the card",
    "expired_card": "the card has expired",
    "payment_method_expired": "the card has expired",
    "authentication_required": "the bank asked for authentication",
    "processing_error": "the payment processor had an error",
}
AUTO_TOPUP_FIX = "Add a card in the Cloudflare dashboard"
AUTO_TOPUP_FIXES = {
    "no_payment_method": AUTO_TOPUP_FIX,
    "card_declined": "Check or replace the card in the Cloudflare dashboard",
    "insufficient_funds": "Check or replace the card in the Cloudflare dashboard",
    "expired_card": "Replace the card in the Cloudflare dashboard",
    "payment_method_expired": "Replace the card in the Cloudflare dashboard",
}


def auto_topup_reason(code: str | None) -> str:
    """Why auto top-up fails, in words: "no card on file", "card declined"; unknown codes humanised."""
    code = (code or "").strip()
    return AUTO_TOPUP_REASONS.get(code.lower(), humanise(code) if code.isidentifier() else code)


def auto_topup_fix(code: str | None) -> str:
    """What a person does about a failing auto top-up (in the Cloudflare dashboard)."""
    return AUTO_TOPUP_FIXES.get(
        (code or "").strip().lower(), "Check the payment method in the Cloudflare dashboard"
    )


def auto_topup_state(amount, threshold, error: str = "", disabled_reason: str = "") -> str:
    """The one wording of an auto top-up's state: "On — $50.00 below $20.00", "On — failing: no card on
    file", "Off"; "Off — disabled: …" when Cloudflare switched off a configuration."""
    reason = disabled_reason or error
    configured = amount is not None and threshold is not None
    if reason:
        words = auto_topup_reason(reason)
        return f"On — failing: {words}" if configured else f"Off — disabled: {words}"
    if not configured:
        return "Off"
    return f"On — {format_money(amount)} below {format_money(threshold)}"


CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "american_express": "American Express",
    "american express": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "diners_club": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "cartes_bancaires": "Cartes Bancaires",
    "eftpos_au": "eftpos Australia",
    "interac": "Interac",
    "link": "Link",
}


def card_brand(brand: str | None) -> str:
    """A card brand's proper name: "visa" -> "Visa", "amex" -> "American Express"; "Card" when unknown."""
    brand = (brand or "").strip()
    if not brand:
        return "Card"
    return CARD_BRANDS.get(brand.lower(), humanise(brand).title())


CREDIT_TYPES = {
    "credit_balance_transaction": "prepaid credit",
    "discount": "discount",
}


def credit_type(kind: str | None) -> str:
    """An invoice line's credit type in words: "credit_balance_transaction" -> "prepaid credit"."""
    kind = (kind or "").strip()
    return CREDIT_TYPES.get(kind.lower(), humanise(kind) or "credit")


def rule_window(seconds: int | None) -> str:
    """A gateway rule's window in words: "1 day", "7 days", "90 minutes", "45 seconds"; "–" when unknown."""
    if not seconds:
        return "–"
    number, unit = seconds_to_window(int(seconds))
    return f"{number} {unit[:-1] if number == 1 else unit}"


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


def rule_resets(technique: str, resets_at: datetime | None, window_seconds: int | None) -> str:
    """When a gateway rule's window frees up, the one wording of it (pages, emails, webhooks): a fixed
    window "at 2026-03-18 12:00 UTC (in 1 hour)"; a sliding one has no reset time, its spend leaves it as it
    turns a window old: "gradually, as spend turns 7 days old"."""
    if technique != "fixed":
        return f"gradually, as spend turns {rule_window(window_seconds)} old"
    if resets_at is None:
        return "–"
    return f"at {moment(resets_at)} ({resets_in(resets_at)})"


def share(part, whole) -> str:
    """`part` as a percentage of `whole` to one place, "–" without a whole."""
    if not whole:
        return "–"
    return f"{(Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal('0.1'))}%"


def date_range(first, last) -> str:
    """ "Nov 2 – Dec 1, 2026"; the year on both ends when they differ ("Dec 1, 2026 – Jan 1, 2027"); one day
    once ("Nov 1, 2026"). Dates, or datetimes read in the portal's time zone."""
    if first is None or last is None:
        return "–"
    first, last = (timezone.localtime(d).date() if isinstance(d, datetime) else d for d in (first, last))
    if first == last:
        return f"{last:%b %-d, %Y}"
    if first.year != last.year:
        return f"{first:%b %-d, %Y} – {last:%b %-d, %Y}"
    return f"{first:%b %-d} – {last:%b %-d, %Y}"


def unit_price(value: str | None, currency: str = "usd") -> str:
    """Stripe's `unit_amount_decimal` (a decimal string in the currency's minor unit) as money with every
    digit it has: "0.0001" (cents) reads "$0.000001"; "–" when there is none or it is not a number."""
    if value in (None, ""):
        return "–"
    try:
        amount = minor_units_to_major(value, currency)
    except (ArithmeticError, ValueError, TypeError):
        return "–"
    symbol = "$" if (currency or "usd").lower() == "usd" else f"{(currency or '').upper()} "
    digits = f"{abs(amount).normalize():f}"
    whole, _, cents = digits.partition(".")
    return f"{'-' if amount < 0 else ''}{symbol}{whole}.{cents.ljust(2, '0')}"
