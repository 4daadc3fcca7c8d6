"""Splitting an amount between shares so that the parts add up to it exactly."""

from decimal import ROUND_DOWN, Decimal

from billing.figures.spend import MICRO, ZERO


def allocate(total: Decimal, weights: list[Decimal], unit: Decimal = MICRO) -> list[Decimal]:
    """`total` split in proportion to `weights`, to the `unit` (by default the micro-dollar, the tables'
    precision; a statement splits cents), the parts summing to `total` exactly: each part is rounded down,
    and the units left go one each to the parts that lost the most to rounding (largest remainder; ties to
    the earlier part). All-zero or no weights: all zeros."""
    whole = sum(weights, ZERO)
    if whole <= 0:
        return [ZERO for _ in weights]
    exact = [total * weight / whole for weight in weights]
    parts = [share.quantize(unit, rounding=ROUND_DOWN) for share in exact]
    left = int((total.quantize(unit) - sum(parts, ZERO)) / unit)
    by_loss = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for index in by_loss[:left]:
        parts[index] += unit
    return parts
