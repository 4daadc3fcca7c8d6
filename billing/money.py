"""Units and formatting: the one place where wire units become the portal's units.

The portal stores and computes every amount as a `Decimal` of US dollars (or of the invoice's currency's
major unit), and sends the API integer cents. The unit decisions, from `reference/API.md`:

| value                                            | unit on the wire                                  |
|--------------------------------------------------|---------------------------------------------------|
| request `amount`, `threshold`                    | integer US cents                                  |
| `balance`, `topup_config.amount` / `threshold`   | US cents, may be fractional (setting: dollars)    |
| usage `aggregated_value`                         | US dollars                                        |
| invoice amounts                                  | minor units of `currency` (cents for USD)         |
| usage `start_time` / `end_time`                  | Unix milliseconds                                 |
| invoice `created`, `period_*`, `last_failed_at`  | Unix seconds, or milliseconds above 10^11         |
| gateway rule `limit`                             | US dollars (a JSON number)                        |
| gateway rule `window`                            | an integer the SDK leaves undocumented: read as seconds |
"""

from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# Above this a timestamp is in milliseconds: 10^11 seconds is the year 5138, 10^11 ms is 1973.
MILLISECONDS_THRESHOLD = 10**11
# ISO 4217 currencies whose minor unit is the major unit (Stripe's "zero-decimal" currencies).
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


class UnitError(ValueError):
    """A value cannot be converted without losing money."""


def to_decimal(value: object) -> Decimal:
    """A finite Decimal from an int, a Decimal or a numeric string; never through float."""
    if isinstance(value, (bool, float)):
        raise UnitError(f"refusing to read money from {type(value).__name__}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise UnitError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise UnitError(f"not a finite number: {value!r}")
    return result


def cents_to_dollars(cents: object) -> Decimal:
    return to_decimal(cents) / HUNDRED


def dollars_to_cents(dollars: Decimal) -> int:
    """Whole cents for an amount of dollars; raises UnitError for fractions of a cent."""
    dollars = to_decimal(dollars)
    cents = dollars * HUNDRED
    if cents != cents.to_integral_value():
        raise UnitError(f"{dollars} has a fraction of a cent")
    return int(cents)


def balance_to_dollars(value: object, unit: str = "cents") -> Decimal:
    """The credit balance (and auto top-up amounts) as dollars, per CLOUDFLARE_BALANCE_UNIT."""
    if unit == "dollars":
        return to_decimal(value)
    if unit == "cents":
        return cents_to_dollars(value)
    raise UnitError(f"unknown balance unit {unit!r}")


def usage_to_dollars(value: object) -> Decimal:
    """Usage `aggregated_value` is already US dollars."""
    return to_decimal(value)


def minor_units_to_major(amount: object, currency: str) -> Decimal:
    """An invoice amount (Stripe minor units) in the currency's major unit."""
    if (currency or "usd").lower() in ZERO_DECIMAL_CURRENCIES:
        return to_decimal(amount)
    return cents_to_dollars(amount)


def timestamp_to_datetime(value: object) -> datetime | None:
    """An aware UTC datetime from Unix seconds, or milliseconds when the value is above 10^11."""
    if value is None or value == "":
        return None
    number = to_decimal(value)
    if abs(number) > MILLISECONDS_THRESHOLD:
        number = number / 1000
    # Floor, not truncate, so that the microseconds of a time before 1970 stay positive.
    seconds = number.to_integral_value(rounding=ROUND_FLOOR)
    return datetime.fromtimestamp(int(seconds), tz=UTC).replace(
        microsecond=int((number - seconds) * 1_000_000)
    )


def ms_to_datetime(value: object) -> datetime:
    """An aware UTC datetime from Unix milliseconds (usage bounds)."""
    number = to_decimal(value)
    whole_seconds, millis = divmod(int(number), 1000)
    return datetime.fromtimestamp(whole_seconds, tz=UTC).replace(microsecond=millis * 1000)


def datetime_to_ms(moment: datetime) -> int:
    """Unix milliseconds of an aware datetime (usage query bounds)."""
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def round_cents(amount: Decimal) -> Decimal:
    return to_decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def format_money(amount: Decimal | None, currency: str = "usd") -> str:
    """ "$1,204.50", "-$1.35", "€3.00"; "–" for no amount. Rounded half up to cents for display only."""
    if amount is None:
        return "–"
    code = (currency or "usd").lower()
    rounded = round_cents(amount) if code not in ZERO_DECIMAL_CURRENCIES else to_decimal(amount).quantize(1)
    sign = "-" if rounded < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(code)
    digits = f"{abs(rounded):,}"
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code.upper()}"


def decimal_text(amount: Decimal) -> str:
    """An amount as the API writes it: a plain decimal string, every stored place that is not a trailing zero
    and at least cents ("1204.50", "0.000125", "-1.35"), never an exponent."""
    value = to_decimal(amount)
    trimmed = value.normalize()
    if trimmed.as_tuple().exponent > -2:  # type: ignore[operator]  # (finite amounts: an int)
        trimmed = value.quantize(CENT)
    return f"{trimmed:f}"


# A gateway rule's window: people pick minutes, hours or days; Cloudflare's integer is read as seconds (the
# SDK does not document its unit), and this is the one place that converts.
WINDOW_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}


def window_to_seconds(number: int, unit: str) -> int:
    """`number` minutes, hours or days as the seconds of a rule's `window`; KeyError for another unit."""
    return int(number) * WINDOW_UNIT_SECONDS[unit]


def seconds_to_window(seconds: int) -> tuple[int, str]:
    """The largest unit dividing `seconds` evenly: (7, "days"), (90, "minutes"); else (n, "seconds")."""
    for unit in ("days", "hours", "minutes"):
        size = WINDOW_UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return seconds // size, unit
    return seconds, "seconds"
