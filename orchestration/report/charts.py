"""Inline SVG charts: horizontal bars, lines, sparklines, heat-maps and intervals.

Each function returns one `<svg>` element: no JavaScript, no external resource, sized in
CSS pixels, every text escaped. A value may be None (a rate without a denominator): its
bar or point is left out and its label says n/a. `fmt` turns a value into the text a
person reads (see format.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from orchestration.report.format import DASH, compact

Fmt = Callable[[float | None], str]
Series = Sequence[tuple[str, Sequence[float | None]]]

# Tableau 10: distinguishable, also in greyscale print.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
INK, MUTED, GRID = "#222", "#666", "#e3e3e3"
CHAR_WIDTH = 7.2  # of 12 px sans-serif text (generous: wide glyphs), to size label columns


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above value (an axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * (1 - 1e-12))


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    width, height = math.ceil(width), math.ceil(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _short(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color(index)}"/>'
        )
        parts.append(_text(x + 14, y, name))
        x += 28 + CHAR_WIDTH * len(name)
    return parts


def hbar(
    labels: Sequence[str],
    series: Series,
    fmt: Fmt,
    *,
    label: str,
    width: int = 600,
    max_label_chars: int = 34,
) -> str:
    """Horizontal bars, one group per label and one bar per series, each with its value."""
    names = [name for name, _ in series]
    values = [v for _, vals in series for v in vals if v is not None]
    top_value = max([v for v in values if v > 0], default=1.0)
    label_width = 12 + CHAR_WIDTH * min(max_label_chars, max(map(len, labels), default=4))
    bar = 18 if len(series) == 1 else 13
    row = bar * len(series) + 9
    top = 24 if len(series) > 1 else 4
    area = width - label_width - 86
    parts = _legend(names, label_width, 14) if len(series) > 1 else []
    for i, name in enumerate(labels):
        y0 = top + i * row
        parts.append(
            _text(
                label_width - 8,
                y0 + bar * len(series) / 2 + 4,
                _short(name, max_label_chars),
                "end",
            )
        )
        for j, (series_name, vals) in enumerate(series):
            value, y = vals[i], y0 + j * bar
            length = 0.0 if value is None or value <= 0 else area * value / top_value
            if length:
                parts.append(
                    f'<rect class="mark" x="{label_width}" y="{y:.1f}" '
                    f'width="{max(length, 1):.1f}" height="{bar - 2}" fill="{color(j)}">'
                    f"<title>{escape(name)} · "
                    f"{escape(series_name)}: {escape(fmt(value))}</title></rect>"
                )
            parts.append(
                _text(label_width + length + 4, y + bar - 5, fmt(value), fill=MUTED, font_size="11")
            )
    height = top + row * len(labels) + 2
    parts.append(
        f'<line x1="{label_width}" x2="{label_width}" y1="{top - 2}" y2="{height - 4}" '
        f'stroke="{MUTED}"/>'
    )
    return _svg(width, height, label, parts)


def line_chart(
    x_labels: Sequence[str],
    series: Series,
    fmt: Fmt,
    *,
    label: str,
    width: int = 600,
    height: int = 240,
    tick_fmt: Fmt = compact,
) -> str:
    """Lines over an evenly spaced x axis (days, months), from 0 up; a None breaks a line."""
    left, right, top, bottom = 58, 18, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vals in series for v in vals if v is not None]
    step = nice_ceiling(max(values, default=0.0) / 4)
    steps = max(1, math.ceil(max(values, default=0.0) / step - 1e-9))
    top_value = step * steps
    n = len(x_labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(v, 0) / top_value)

    parts = _legend([name for name, _ in series], left, 14)
    for tick in range(steps + 1):
        value = step * tick
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{GRID}"/>'
        )
        parts.append(_text(left - 6, y(value) + 4, tick_fmt(value), "end", fill=MUTED))
    ticks = sorted({round(k * (n - 1) / max(min(n, 6) - 1, 1)) for k in range(min(n, 6))})
    for i in ticks:
        parts.append(_text(x(i), height - 10, x_labels[i], "middle", fill=MUTED))
    for j, (name, vals) in enumerate(series):
        segment: list[tuple[float, float]] = []
        for i, value in enumerate([*vals, None]):
            if value is not None:
                segment.append((x(i), y(value)))
                if n <= 40:
                    parts.append(
                        f'<circle class="mark" cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.6" '
                        f'fill="{color(j)}"><title>{escape(name)} · {escape(x_labels[i])}: '
                        f"{escape(fmt(value))}</title></circle>"
                    )
            elif segment:
                if len(segment) > 1:
                    points = " ".join(f"{px:.1f},{py:.1f}" for px, py in segment)
                    parts.append(
                        f'<polyline class="mark" points="{points}" fill="none" '
                        f'stroke="{color(j)}" stroke-width="2"/>'
                    )
                segment = []
    return _svg(width, height, label, parts)


def sparkline(values: Sequence[float | None], *, label: str, width: int = 150) -> str:
    """A small line of a KPI's daily values, scaled between its minimum and maximum."""
    height, pad = 34, 3
    known = [v for v in values if v is not None]
    low, high = min(known, default=0.0), max(known, default=1.0)
    span = (high - low) or 1.0
    n = len(values)
    points = [
        (
            pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5),
            height - pad - (height - 2 * pad) * (v - low) / span,
        )
        for i, v in enumerate(values)
        if v is not None
    ]
    line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    parts = [
        f'<polyline class="mark" points="{line}" fill="none" stroke="{color(0)}" '
        'stroke-width="1.6"/>'
    ]
    if points:
        last_x, last_y = points[-1]
        parts.append(f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.4" fill="{color(0)}"/>')
    return _svg(width, height, label, parts)


def _shade(t: float) -> str:
    """White to the palette's blue, t from 0 to 1."""
    t = min(max(t, 0.0), 1.0)
    low, high = (247, 251, 255), (33, 102, 172)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high, strict=True))


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    fmt: Fmt,
    *,
    label: str,
    cell_height: int = 26,
) -> str:
    """A grid of cells shaded by value (0 white, the largest dark blue), each with its value;
    an empty cell (None) is grey."""
    label_width = 12 + CHAR_WIDTH * max(map(len, row_labels), default=4)
    cell_width = max(
        66,
        12 + CHAR_WIDTH * max(map(len, col_labels), default=4),
        *(12 + CHAR_WIDTH * len(fmt(v)) for row in values for v in row),
    )
    top = 24
    known = [v for row in values for v in row if v is not None]
    top_value = max([v for v in known if v > 0], default=1.0)
    parts = [
        _text(label_width + (j + 0.5) * cell_width, 16, name, "middle", fill=MUTED)
        for j, name in enumerate(col_labels)
    ]
    for i, name in enumerate(row_labels):
        y = top + i * cell_height
        parts.append(_text(label_width - 8, y + cell_height / 2 + 4, name, "end"))
        for j, value in enumerate(values[i]):
            x = label_width + j * cell_width
            t = 0.0 if value is None else max(value, 0) / top_value
            fill = "#eeeeee" if value is None else _shade(t)
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{y}" width="{cell_width - 2}" '
                f'height="{cell_height - 2}" fill="{fill}"><title>{escape(name)} · '
                f"{escape(col_labels[j])}: {escape(fmt(value))}</title></rect>"
            )
            parts.append(
                _text(
                    x + cell_width / 2 - 1,
                    y + cell_height / 2 + 3,
                    DASH if value is None else fmt(value),
                    "middle",
                    fill="#ffffff" if t > 0.55 else INK,
                    font_size="11",
                )
            )
    width = label_width + cell_width * len(col_labels) + 4
    return _svg(width, top + cell_height * len(row_labels) + 4, label, parts)


def interval_chart(
    labels: Sequence[str],
    estimates: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    fmt: Fmt,
    *,
    label: str,
    baseline_text: str = "baseline",
    width: int = 600,
) -> str:
    """A forest plot: each row's estimate with its interval, around a dashed zero line."""
    label_width = 12 + CHAR_WIDTH * max(map(len, labels), default=4)
    text_room, row, top = 210, 28, 8
    known = [abs(v) for v in [*estimates, *lows, *highs] if v is not None]
    extent = max(known, default=1.0) * 1.15 or 1.0
    half = (width - label_width - text_room) / 2
    mid = label_width + half

    def x(v: float) -> float:
        return mid + half * v / extent

    height = top + row * len(labels) + 4
    parts = [
        f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="2" y2="{height - 2}" stroke="{MUTED}" '
        'stroke-dasharray="4 3"/>'
    ]
    for i, name in enumerate(labels):
        y = top + i * row + row / 2
        parts.append(_text(label_width - 8, y + 4, name, "end"))
        estimate, low, high = estimates[i], lows[i], highs[i]
        if estimate is None:
            parts.append(_text(mid + 6, y + 4, baseline_text, fill=MUTED))
            continue
        if low is not None and high is not None:
            parts.append(
                f'<line class="mark" x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{color(0)}" stroke-width="3"/>'
            )
        parts.append(
            f'<circle class="mark" cx="{x(estimate):.1f}" cy="{y:.1f}" r="5" fill="{color(1)}">'
            f"<title>{escape(name)}: {escape(fmt(estimate))}</title></circle>"
        )
        interval = f" [{fmt(low)}, {fmt(high)}]" if low is not None and high is not None else ""
        parts.append(_text(width - text_room + 12, y + 4, fmt(estimate) + interval, fill=MUTED))
    return _svg(width, height, label, parts)
