"""Splitting an amount between shares so that the parts add up to it exactly."""

from decimal import ROUND_DOWN, Decimal

from billing.figures.spend import MICRO, ZERO


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights`, to the micro-dollar (the tables' precision), the parts
    summing to `total` exactly: each part is rounded down, and the micro-dollars left go one each to the parts
    that lost the most to rounding (largest remainder). All-zero or no weights: all zeros."""
    whole = sum(weights, ZERO)
    if whole <= 0:
        return [ZERO for _ in weights]
    exact = [total * weight / whole for weight in weights]
    parts = [share.quantize(MICRO, rounding=ROUND_DOWN) for share in exact]
    left = int((total.quantize(MICRO) - sum(parts, ZERO)) / MICRO)
    by_loss = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for index in by_loss[:left]:
        parts[index] += MICRO
    return parts
