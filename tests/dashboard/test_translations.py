"""The dashboard speaks Chinese by default and English on request; every string has both."""

from __future__ import annotations

from ivr.web.dashboard.i18n import missing_translations, source_messages
from tests.dashboard.pages import login, signed_in, text


def test_every_dashboard_message_has_an_english_translation() -> None:
    assert len(source_messages()) > 200
    assert missing_translations("en") == []


def test_pages_are_chinese_by_default(app, people) -> None:
    page = text(signed_in(app, people.staff_a).get("/escalations"))
    assert '<html lang="zh-CN">' in page and "预警" in page and "Escalations" not in page


def test_english_is_chosen_with_lang_and_kept_for_the_session(app, people) -> None:
    client = app.test_client()
    assert "Staff login" in text(client.get("/login?lang=en"))
    login(client, people.staff_a)  # the language survives signing in
    page = text(client.get("/residents"))
    assert '<html lang="en">' in page and "Residents · today" in page and "红：紧急" not in page
    assert "预警" in text(client.get("/escalations?lang=zh_CN"))


def test_an_unknown_language_falls_back_to_chinese(app, people) -> None:
    assert "工作人员登录" in text(app.test_client().get("/login?lang=xx"))
