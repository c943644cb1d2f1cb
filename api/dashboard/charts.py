"""Charts as inline SVG, drawn on the server (no script, no CDN; styled by dashboard.css classes).

Each function returns Markup ready for a template. Every chart has a <title> and an aria-label
so a screen reader says what a sighted person sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

Formatter = Callable[[float], str]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _count(value: float) -> str:
    return f"{value:.0f}"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def columns(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    fmt: Formatter = _num,
    max_value: float | None = None,
    width: int = 640,
    height: int = 220,
    css: str = "c1",
    every: int | None = None,
    counts: bool = False,
) -> Markup:
    """Vertical columns over categories or time; None is drawn as a gap ("no data").
    counts=True: whole numbers, so the axis steps are whole numbers too."""
    left, right, top, bottom = 44, 8, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v in points if v is not None]
    top_value = max_value if max_value is not None else _nice_max(max(values, default=0))
    if counts:
        top_value = max(4.0, math.ceil(top_value / 4) * 4)
        fmt = _count
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    every = every or max(1, math.ceil(n / 12))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top_value * i / 4))}</text>"
        )
    for index, (label, value) in enumerate(points):
        x = left + slot * index + (slot - bar_w) / 2
        if value is not None and top_value > 0:
            h = plot_h * min(value, top_value) / top_value
            parts.append(
                f'<rect class="{css}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 0.5):.1f}" rx="2"><title>{escape(label)}: '
                f"{escape(fmt(value))}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line class="baseline" x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/></svg>'
    )
    return Markup("".join(parts))


def bars(
    rows: Sequence[tuple[str, float]], *, title: str, fmt: Formatter = _num, width: int = 640, css: str = "c2"
) -> Markup:
    """Horizontal bars, one per row, longest first as given."""
    label_w, value_w, row_h = 170, 56, 28
    height = max(row_h * len(rows), row_h) + 8
    plot_w = width - label_w - value_w
    top_value = max((v for _, v in rows), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text class="axis" x="{width / 2}" y="20" text-anchor="middle">No data</text>')
    for index, (label, value) in enumerate(rows):
        y = 4 + index * row_h
        w = plot_w * value / top_value
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>'
        )
        parts.append(
            f'<rect class="{css}" x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" '
            f'height="{row_h - 8}" rx="3"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
        )
        parts.append(
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 17}">{escape(fmt(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def donut(
    parts_in: Sequence[tuple[str, float, str]], *, title: str, center: str = "", size: int = 180
) -> Markup:
    """A ring split by share; parts are (label, value, css class). The legend is the caller's."""
    total = sum(v for _, v, _ in parts_in)
    r, stroke = size / 2 - 14, 22
    c = 2 * math.pi * r
    out = [
        f'<svg class="chart donut" viewBox="0 0 {size} {size}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<circle class="ring" cx="{size / 2}" cy="{size / 2}" r="{r:.1f}" fill="none" '
        f'stroke-width="{stroke}"/>',
    ]
    offset = 0.0
    if total > 0:
        for label, value, css in parts_in:
            if value <= 0:
                continue
            length = c * value / total
            out.append(
                f'<circle class="{css}-stroke" cx="{size / 2}" cy="{size / 2}" r="{r:.1f}" '
                f'fill="none" stroke-width="{stroke}" stroke-dasharray="{length:.2f} {c - length:.2f}" '
                f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {size / 2} {size / 2})">'
                f"<title>{escape(label)}: {value:g} ({value / total:.0%})</title></circle>"
            )
            offset += length
    out.append(
        f'<text class="center" x="{size / 2}" y="{size / 2 + 7}" text-anchor="middle">'
        f"{escape(center)}</text></svg>"
    )
    return Markup("".join(out))


def meter(value: float | None, *, title: str, good: float = 0.8) -> Markup:
    """A single share as a filled bar (0..100 %)."""
    width, height = 320, 18
    filled = 0 if value is None else max(0.0, min(1.0, value)) * width
    css = "c-good" if value is not None and value >= good else "c-warn"
    return Markup(
        f'<svg class="chart meter" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect class="track" x="0" y="0" width="{width}" height="{height}" rx="9"/>'
        f'<rect class="{css}" x="0" y="0" width="{filled:.1f}" height="{height}" rx="9"/></svg>'
    )


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"
