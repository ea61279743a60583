"""Charts as SVG drawn on the server: no JavaScript, no external library, and the page's
Content-Security-Policy allows them (only presentation attributes, never ``style``).

Every chart has a ``viewBox`` and no fixed size, so CSS scales it from a 360 px phone to a
desktop; every text is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 250
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 30


@dataclass(frozen=True)
class Reading:
    at: dt.datetime  # local time of the reading
    celsius: Decimal


def _svg(body: list[str], title: str, css: str, height: int = HEIGHT) -> Markup:
    return Markup(
        f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, label: object, css: str = "", anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">{escape(label)}</text>'
    )


def temperature_chart(
    readings: Sequence[Reading],
    first: dt.date,
    last: dt.date,
    fever: Decimal,
    high_fever: Decimal,
    title: str,
) -> Markup:
    """The readings over the isolation period, with the fever and high-fever lines."""
    days = max((last - first).days + 1, 1)
    values = [float(r.celsius) for r in readings] + [float(fever), float(high_fever)]
    low, high = min([35.0, *values]) - 0.3, max([40.0, *values]) + 0.3
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(when: dt.datetime) -> float:
        offset = (when.date() - first).days + (when.hour * 60 + when.minute) / 1440
        return LEFT + plot_w * min(max(offset / days, 0.0), 1.0)

    def y(celsius: float) -> float:
        return TOP + plot_h * (high - celsius) / (high - low)

    body = [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>']
    for degree in range(int(low) + 1, int(high) + 1):
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(degree):.1f}" '
            f'y2="{y(degree):.1f}" class="grid"/>'
        )
        body.append(_text(LEFT - 6, y(degree) + 4, f"{degree}", "axis", "end"))
    for limit, css in ((fever, "fever-line"), (high_fever, "high-fever-line")):
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(float(limit)):.1f}" '
            f'y2="{y(float(limit)):.1f}" class="{css}"/>'
        )
        body.append(_text(WIDTH - RIGHT - 4, y(float(limit)) - 4, f"{limit} °C", css, "end"))
    step = max(1, (days + 4) // 5)
    for index in range(0, days, step):
        day = first + dt.timedelta(days=index)
        body.append(
            _text(LEFT + plot_w * (index + 0.5) / days, HEIGHT - 12, day.strftime("%m-%d"), "axis")
        )
    ordered = sorted(readings, key=lambda r: r.at)
    if len(ordered) > 1:
        points = " ".join(f"{x(r.at):.1f},{y(float(r.celsius)):.1f}" for r in ordered)
        body.append(f'<polyline points="{points}" class="reading-line"/>')
    for r in ordered:
        css = "point fever" if r.celsius >= fever else "point"
        body.append(
            f'<circle cx="{x(r.at):.1f}" cy="{y(float(r.celsius)):.1f}" r="5" class="{css}">'
            f"<title>{escape(r.at.strftime('%m-%d %H:%M'))} {r.celsius} °C</title></circle>"
        )
    return _svg(body, title, "temperature")


@dataclass(frozen=True)
class Segment:
    css: str  # colour class, e.g. "complete"
    count: int
    label: str


def stacked_bar(segments: Sequence[Segment], title: str) -> Markup:
    """One horizontal bar split by count (a round's complete / partial / missed / pending)."""
    total = sum(s.count for s in segments)
    width, height, x = WIDTH, 36, 0.0
    body = []
    for s in segments:
        if not s.count:
            continue
        part = width * s.count / total
        body.append(
            f'<rect x="{x:.1f}" y="0" width="{part:.1f}" height="{height}" class="seg {s.css}">'
            f"<title>{escape(s.label)}: {s.count}</title></rect>"
        )
        x += part
    if not total:
        body.append(f'<rect x="0" y="0" width="{width}" height="{height}" class="seg empty"/>')
    return Markup(
        f'<svg class="bar" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def columns(
    points: Sequence[tuple[str, float | None]],
    title: str,
    unit: str = "",
    ceiling: float | None = None,
) -> Markup:
    """A vertical bar per label (a day), with its value written above it; a day without a
    value (no calls, so no answer rate) is "—" rather than a bar at 0."""
    height, margin = 200, 24  # room above the tallest bar for its value
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - margin - BOTTOM
    known = [v for _, v in points if v is not None]
    peak = ceiling if ceiling is not None else max([1.0, *known])
    base = margin + plot_h
    body = [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" class="grid"/>']
    slot = plot_w / max(len(points), 1)
    step = max(1, (len(points) + 6) // 7)
    for index, (label, value) in enumerate(points):
        bar_h = plot_h * min(value / peak, 1.0) if peak and value is not None else 0
        shown = NO_VALUE if value is None else _number(value) + unit
        left = LEFT + slot * index + slot * 0.15
        body.append(
            f'<rect x="{left:.1f}" y="{margin + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_h:.1f}" class="column"><title>{escape(label)}: '
            f"{escape(shown)}</title></rect>"
        )
        if index % step == 0:
            body.append(_text(left + slot * 0.35, height - 12, label, "axis"))
            body.append(_text(left + slot * 0.35, margin + plot_h - bar_h - 4, shown, "value"))
    return _svg(body, title, "columns", height)


NO_VALUE = "—"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
