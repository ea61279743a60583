"""After a real simulated round: today's progress bars, the call log and a call's timeline,
and the statistics page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ivr.db import session_scope
from storage import CallAttempt
from tests.dashboard.pages import FEVER, signed_in, text


def test_today_shows_each_communitys_round_progress(app, people, round_done) -> None:
    page = text(signed_in(app, people.supervisor).get("/today"))
    rounds = re.findall(r'<li class="card round".*?</li>', page, re.S)
    assert len(rounds) == 2
    zhongyuan = next(r for r in rounds if "中原社区" in r)
    assert "已处理 2 / 2" in zhongyuan and 'class="seg complete"' in zhongyuan
    xianghe = next(r for r in rounds if "祥和社区" in r)
    assert 'class="seg missed"' in xianghe and "未接通 1" in xianghe
    staff_page = text(signed_in(app, people.staff_a).get("/today"))
    assert "中原社区" in staff_page and "祥和社区" not in staff_page


def test_the_call_log_lists_every_attempt_and_filters(app, people, round_done) -> None:
    client = signed_in(app, people.supervisor)
    with session_scope(app) as session:
        attempts = session.scalars(select(CallAttempt)).all()
    page = text(client.get("/calls?date=2026-11-28"))
    assert sorted(map(int, re.findall(r'data-call="(\d+)"', page))) == sorted(
        a.id for a in attempts
    )
    no_answer = text(
        client.get(f"/calls?date=2026-11-28&status=no-answer&community={people.community_b}")
    )
    shown = re.findall(r'data-call="(\d+)"', no_answer)
    assert shown and all(
        next(a for a in attempts if a.id == int(i)).status == "no-answer" for i in shown
    )
    assert "李建国" not in no_answer
    assert re.findall(r'data-call="', text(client.get("/calls?date=2026-11-27"))) == []


@pytest.mark.parametrize(
    "query", ["date=yesterday", "date=2026-02-30", "status=ringing", "community=x", "page=0"]
)
def test_bad_call_log_filters_are_refused(app, people, query) -> None:
    assert signed_in(app, people.supervisor).get(f"/calls?{query}").status_code == 400


def test_a_calls_page_shows_its_timeline_and_call_sid(app, people, round_done) -> None:
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt).where(CallAttempt.phone == FEVER)).one()
    page = text(signed_in(app, people.supervisor).get(f"/calls/{attempt.id}"))
    assert attempt.call_sid and attempt.call_sid in page
    timeline = page[page.index("call-timeline") : page.index("</ol>")]
    for step in ("振铃", "接听", "体温 <code>378</code>", "需求 <code>", "已接通"):
        assert step in timeline, step
    assert "体温 (°C)：37.8" in page and "需要：代买生活物资" in page
    assert re.search(r"已接通 <code>\d+ 秒</code>", timeline)  # the call's length, in words
    assert not re.search(r"<code>\d+s</code>", timeline)


def test_the_statistics_page_counts_the_round(app, people, round_done) -> None:
    client = signed_in(app, people.supervisor)
    page = text(client.get("/stats?from=2026-11-28&to=2026-11-28"))
    rows = re.findall(r"<tr><td>2026-11-28</td><td>(.*?)</td>(.*?)</tr>", page, re.S)
    cells = {name: re.findall(r"<td>(.*?)</td>", rest) for name, rest in rows}
    # monitored, answer rate, fevers, missed, escalations opened, resolved, median, orders…
    assert cells["中原社区"][:5] == ["2", "100.0%", "1", "0", "1"]
    assert cells["中原社区"][7] == "1"  # the groceries order
    assert cells["祥和社区"][:5] == ["1", "0.0%", "0", "1", "1"]
    assert page.count("<svg") == 3


@pytest.mark.parametrize(
    "query", ["from=2026-11-29&to=2026-11-28", "from=2026-01-01&to=2026-11-28", "to=soon"]
)
def test_bad_statistics_ranges_are_refused(app, people, query) -> None:
    assert signed_in(app, people.supervisor).get(f"/stats?{query}").status_code == 400


def test_a_day_without_calls_shows_no_answer_rate_rather_than_zero(app, people, round_done) -> None:
    page = text(signed_in(app, people.supervisor).get("/stats?from=2026-11-27&to=2026-11-28"))
    chart = page[page.index("<svg") : page.index("</svg>")]  # the answer-rate chart comes first
    assert "11-27: —</title>" in chart and "11-27: 0%" not in chart
    assert "11-28: 66.7%</title>" in chart


def test_todays_counts_open_the_residents_behind_them(app, people, round_done) -> None:
    from html import unescape

    client = signed_in(app, people.supervisor)
    page = text(client.get("/today"))
    links: dict[str, list[str]] = {}
    for href, status in re.findall(r'href="(/residents\?[^"]*status=(\w+)[^"]*)"', page):
        links.setdefault(status, []).append(unescape(href))
    assert {"complete", "partial", "missed", "pending"} <= set(links)

    def behind(status: str) -> str:
        return "".join(text(client.get(link)) for link in links[status])

    missed = behind("missed")
    assert "杨志强" in missed and "李建国" not in missed and "王秀英" not in missed
    complete = behind("complete")
    assert "李建国" in complete and "王秀英" in complete and "杨志强" not in complete
