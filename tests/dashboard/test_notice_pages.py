"""Notices on the dashboard: staff write their community's, a supervisor one for all."""

from __future__ import annotations

import io

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


def test_staff_upload_a_recording_of_the_notice_and_a_file_that_is_not_audio_is_refused(
    app, people
) -> None:
    staff = signed_in(app, people.staff_a)
    form = {"text": "明天上午核酸检测", "until": "2026-11-30"}
    upload = {**form, "recording": (io.BytesIO(b"%PDF-1.4"), "n.mp3")}
    wrong = post(staff, "/notices", upload, headers={"Referer": "http://localhost/notices"})
    assert wrong.status_code == 400
    assert "录音须为 MP3 或 WAV 音频文件。" in text(wrong)
    assert "明天上午核酸检测</textarea>" in text(wrong)  # what was typed is kept
    assert stored(app) == []

    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
    added = post(staff, "/notices", {**form, "recording": (io.BytesIO(wav), "通知.wav")})
    assert added.status_code == 302
    with session_scope(app) as session:
        (notice,) = session.scalars(select(Notice)).all()
        assert notice.recording and notice.recording.endswith(".wav")
    assert "播放录音" in text(staff.get("/notices"))
