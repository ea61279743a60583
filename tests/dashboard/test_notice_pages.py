"""Notices on the dashboard: staff write their community's, a supervisor one for all."""

from __future__ import annotations

from sqlalchemy import select

from ivr.db import session_scope
from storage import Notice
from tests.dashboard.pages import post, signed_in, text


def stored(app) -> list[tuple[int | None, str, str]]:
    with session_scope(app) as session:
        rows = session.scalars(select(Notice).where(Notice.removed_at.is_(None)))
        return [(n.community_id, n.text, n.ends_on.isoformat()) for n in rows]


def test_staff_write_for_their_community_and_a_supervisor_for_all(app, people) -> None:
    staff = signed_in(app, people.staff_a)
    form = {"text": "明天上午核酸检测", "until": "2026-11-30", "community": "all"}
    assert post(staff, "/notices", form).status_code == 302
    boss = signed_in(app, people.supervisor)
    assert post(boss, "/notices", {**form, "text": "降温了，注意保暖"}).status_code == 302
    assert stored(app) == [
        (people.community_a, "明天上午核酸检测", "2026-11-30"),  # "all" is not staff's to pick
        (None, "降温了，注意保暖", "2026-11-30"),
    ]
    other = text(signed_in(app, people.staff_b).get("/notices"))
    assert "降温了，注意保暖" in other and "明天上午核酸检测" not in other


def test_a_notice_of_another_community_cannot_be_removed(app, people) -> None:
    post(signed_in(app, people.staff_a), "/notices", {"text": "通知", "until": "2026-11-30"})
    with session_scope(app) as session:
        notice_id = session.scalars(select(Notice.id)).one()
    assert post(signed_in(app, people.staff_b), f"/notices/{notice_id}/remove").status_code == 404
    assert post(signed_in(app, people.staff_a), f"/notices/{notice_id}/remove").status_code == 302
    assert stored(app) == []


def test_a_notice_ending_before_it_starts_is_refused(app, people) -> None:
    form = {"text": "通知", "from": "2026-11-30", "until": "2026-11-29"}
    assert post(signed_in(app, people.staff_a), "/notices", form).status_code == 400
    assert stored(app) == []
