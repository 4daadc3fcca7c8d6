"""Server-side SVG charts: a balance line and usage bars, with no JavaScript and nothing from a CDN.

Coordinates are computed with Decimal like the amounts they come from; every label is escaped.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from billing.money import format_money

WIDTH = 640
HEIGHT = 220
LEFT = 64
RIGHT = 12
TOP = 12
BOTTOM = 28
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


@dataclass(frozen=True)
class Bar:
    start: datetime
    value: Decimal
    label: str
    partial: bool = False


def nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that splits `span` into about `ticks` parts."""
    if span <= 0:
        return Decimal(1)
    raw = span / ticks
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for step in NICE_STEPS:
        if raw <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _scale(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """(low, high, step) of the y axis: round numbers, always including zero."""
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    if high == low:
        high = low + 1
    step = nice_step(high - low)
    low = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    high = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    return low, high, step


def _fmt(number: Decimal) -> str:
    return f"{number.quantize(Decimal('0.1'))}"


class _Frame:
    """Maps values and times onto the drawing area."""

    def __init__(self, values: Sequence[Decimal], start: datetime, end: datetime, width: int = WIDTH) -> None:
        self.width = width
        self.low, self.high, self.step = _scale(values)
        self.start = start
        self.seconds = Decimal(max((end - start).total_seconds(), 1))
        self.plot_w = Decimal(width - LEFT - RIGHT)
        self.plot_h = Decimal(HEIGHT - TOP - BOTTOM)

    def y(self, value: Decimal) -> Decimal:
        return Decimal(TOP) + (self.high - value) / (self.high - self.low) * self.plot_h

    def x(self, moment: datetime) -> Decimal:
        offset = Decimal((moment - self.start).total_seconds())
        return Decimal(LEFT) + offset / self.seconds * self.plot_w

    def grid(self) -> list[str]:
        parts = ['<g class="grid axis">']
        value = self.low
        while value <= self.high:
            y = _fmt(self.y(value))
            parts.append(f'<line x1="{LEFT}" x2="{self.width - RIGHT}" y1="{y}" y2="{y}"/>')
            label = escape(format_money(value)).replace(".00", "")
            parts.append(f'<text x="{LEFT - 6}" y="{y}" dy="4" text-anchor="end">{label}</text>')
            value += self.step
        parts.append("</g>")
        if self.low < 0:
            y = _fmt(self.y(Decimal(0)))
            parts.append(f'<line class="zero" x1="{LEFT}" x2="{self.width - RIGHT}" y1="{y}" y2="{y}"/>')
        return parts

    def time_labels(
        self,
        moments: Sequence[datetime],
        fmt: str,
        x: Callable[[int], Decimal] | None = None,
        count: int = 6,
    ) -> list[str]:
        """Up to `count` time labels under the plot; `x` maps a label's index to its position."""
        if not moments:
            return []
        every = -(-len(moments) // count)
        parts = ['<g class="axis">']
        for index in range(0, len(moments), every):
            local = timezone.localtime(moments[index])
            position = x(index) if x else self.x(moments[index])
            parts.append(
                f'<text x="{_fmt(position)}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(local.strftime(fmt))}</text>"
            )
        parts.append("</g>")
        return parts


def _svg(title: str, parts: list[str], width: int = WIDTH) -> SafeString:
    body = "".join(parts)
    return mark_safe(  # noqa: S308  (every dynamic piece above is escaped or a number)
        f'<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>{body}</svg>'
    )


# How each kind of credit arrival is drawn: a shape (so it reads without colour) and a fill.
MARKER_KINDS = {"portal": "circle", "auto": "square", "elsewhere": "diamond"}


def _marker(x: Decimal, y: Decimal, label: str, kind: str) -> str:
    """A dot (portal top-up), square (auto top-up) or diamond (credit added elsewhere) with its label."""
    cx, cy, title = _fmt(x), _fmt(y), f"<title>{escape(label)}</title>"
    shape = MARKER_KINDS.get(kind, "circle")
    if shape == "square":
        return (
            f'<rect class="marker auto" x="{_fmt(x - 4)}" y="{_fmt(y - 4)}" width="8" height="8" '
            f'fill="#2563eb">{title}</rect>'
        )
    if shape == "diamond":
        points = f"{cx},{_fmt(y - 5)} {_fmt(x + 5)},{cy} {cx},{_fmt(y + 5)} {_fmt(x - 5)},{cy}"
        return f'<polygon class="marker elsewhere" points="{points}" fill="#7c3aed">{title}</polygon>'
    return f'<circle class="marker portal" r="4" cx="{cx}" cy="{cy}">{title}</circle>'


def line_chart(
    points: Sequence[tuple[datetime, Decimal]],
    *,
    title: str,
    markers: Sequence[tuple] = (),
) -> SafeString | None:
    """A balance line over time; `markers` (time, label[, kind]) are drawn on the line, each kind of
    MARKER_KINDS in its own shape (credit arrivals: portal top-ups, auto top-ups, credit added elsewhere).
    None when there are fewer than two points to draw."""
    if len(points) < 2:
        return None
    points = sorted(points)
    frame = _Frame([value for _, value in points], points[0][0], points[-1][0])
    coords = [(frame.x(moment), frame.y(value)) for moment, value in points]
    path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in coords)
    base = _fmt(frame.y(max(frame.low, Decimal(0))))
    area = f"{_fmt(coords[0][0])},{base} {path} {_fmt(coords[-1][0])},{base}"
    parts = frame.grid()
    parts.append(f'<polygon class="area" points="{area}"/>')
    parts.append(f'<polyline class="line" points="{path}"/>')
    for moment, label, *kind in markers:
        if not points[0][0] <= moment <= points[-1][0]:
            continue
        nearest = min(points, key=lambda point: abs((point[0] - moment).total_seconds()))
        parts.append(_marker(frame.x(moment), frame.y(nearest[1]), label, kind[0] if kind else "portal"))
    span_days = (points[-1][0] - points[0][0]).days
    parts += frame.time_labels([moment for moment, _ in points], "%b %d" if span_days >= 2 else "%H:%M")
    return _svg(title, parts)


def bar_chart(
    bars: Sequence[Bar], *, title: str, hourly: bool = False, width: int = WIDTH
) -> SafeString | None:
    """Usage bars, one per bucket; a partial (still running) bucket is drawn lighter. None without bars.
    `width` is the drawing's width in SVG units: wider for full-width charts, so labels keep their size."""
    if not bars:
        return None
    frame = _Frame([bar.value for bar in bars], bars[0].start, bars[-1].start, width)
    slot = frame.plot_w / len(bars)
    gap = min(slot * Decimal("0.2"), Decimal(4))
    parts = frame.grid()
    zero = frame.y(Decimal(0))
    for index, bar in enumerate(bars):
        top = frame.y(bar.value)
        y, height = (top, zero - top) if bar.value >= 0 else (zero, top - zero)
        x = Decimal(LEFT) + index * slot + gap / 2
        css = "bar partial" if bar.partial else "bar"
        tip = f"{bar.label}: {format_money(bar.value)}{' (so far)' if bar.partial else ''}"
        parts.append(
            f'<rect class="{css}" x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(slot - gap)}" '
            f'height="{_fmt(max(height, Decimal(0)))}"><title>{escape(tip)}</title></rect>'
        )
    # Bars sit in equal slots (one per bucket), so labels follow the slots rather than exact times.
    span_days = (bars[-1].start - bars[0].start).days
    fmt = ("%b %d %H:%M" if span_days >= 1 else "%H:%M") if hourly else "%b %d"
    parts += frame.time_labels(
        [bar.start for bar in bars], fmt, x=lambda index: Decimal(LEFT) + index * slot + slot / 2
    )
    return _svg(title, parts, width)


SHARE_WIDTH = 460  # about the width of the half panel it is drawn in, so its 12 px labels read as 12 px


def share_chart(
    items: Sequence[tuple[str, Decimal]], *, title: str, width: int = SHARE_WIDTH
) -> SafeString | None:
    """Horizontal bars, one per (label, amount), longest first as given: where the money goes. None without
    any amount above zero."""
    items = [(label, value) for label, value in items if value and value > 0]
    if not items:
        return None
    # Each label on a line of its own above its bar, so that a long model name is shown whole (as many
    # characters as the width holds at 12 px) rather than cut at the left edge.
    row, label_h, bar_h = 38, 16, 14
    most = width * 10 // 68
    height = TOP + row * len(items)
    top = max(value for _, value in items)
    plot_w = Decimal(width - 90)
    parts = []
    for index, (label, value) in enumerate(items):
        y = TOP + index * row
        bar_w = max(value / top * plot_w, Decimal(1))
        name = escape(label if len(label) <= most else label[: most - 1] + "…")
        parts.append(
            f'<text class="label" x="0" y="{y + label_h - 4}">{name}</text>'
            f'<rect class="bar" x="0" y="{y + label_h}" width="{_fmt(bar_w)}" height="{bar_h}">'
            f"<title>{escape(label)}: {escape(format_money(value))}</title></rect>"
            f'<text class="axis" x="{_fmt(bar_w + 6)}" y="{y + label_h + bar_h - 3}">'
            f"{escape(format_money(value))}</text>"
        )
    body = "".join(parts)
    return mark_safe(  # noqa: S308  (every dynamic piece above is escaped or a number)
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>{body}</svg>'
    )
