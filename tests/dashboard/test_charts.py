"""Charts are SVG drawn on the server: the fever line where it belongs, text escaped."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from ivr.web.dashboard import charts

DAY = dt.date(2026, 11, 20)


def reading(day: int, hour: int, celsius: str) -> charts.Reading:
    return charts.Reading(dt.datetime(2026, 11, 20 + day, hour, 0), Decimal(celsius))


def y_of(svg: str, css: str) -> float:
    found = re.search(rf'<line [^>]*y1="([\d.]+)"[^>]*class="{css}"', svg)
    assert found, css
    return float(found.group(1))


def test_the_temperature_chart_draws_readings_above_and_below_the_fever_line() -> None:
    svg = charts.temperature_chart(
        [reading(0, 9, "36.5"), reading(1, 9, "38.6"), reading(2, 16, "37.3")],
        DAY,
        DAY + dt.timedelta(days=13),
        Decimal("37.3"),
        Decimal("38.5"),
        "体温",
    )
    assert svg.startswith('<svg class="chart temperature" viewBox=')
    points = [
        (float(x), float(y), css)
        for x, y, css in re.findall(
            r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5" class="([^"]+)"', svg
        )
    ]
    fever_y, high_y = y_of(svg, "fever-line"), y_of(svg, "high-fever-line")
    assert high_y < fever_y  # higher temperatures are drawn higher up
    assert [css for *_, css in points] == ["point", "point fever", "point fever"]  # 37.3 counts
    assert points[0][1] > fever_y > points[1][1] and points[1][1] < high_y
    assert points[0][0] < points[1][0] < points[2][0]  # in time order, left to right
    assert "11-20" in svg and "<title>体温</title>" in svg


def test_chart_text_is_escaped() -> None:
    svg = charts.columns([("<b>", 3.0)], 'a "title" & <script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg


def test_a_stacked_bar_splits_by_count_and_survives_an_empty_round() -> None:
    bar = charts.stacked_bar(
        [charts.Segment("complete", 3, "已完成"), charts.Segment("missed", 1, "未接通")], "round"
    )
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height', bar)]
    assert widths == [480.0 * 3 / 4, 480.0 / 4]
    assert 'class="seg empty"' in charts.stacked_bar([charts.Segment("complete", 0, "x")], "r")
