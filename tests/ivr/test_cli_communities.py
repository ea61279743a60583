"""An administrator scripts the communities: every setting of the admin page from the shell."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from storage import AuditEntry, Community
from tests.helpers import add_community


def run(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code == 0, result.output
    return result.output


def fails(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code != 0, result.output
    return result.output


def community(app: Flask, name: str = "中原社区") -> Community:
    with session_scope(app) as session:
        return session.scalars(select(Community).where(Community.name == name)).one()


def test_an_admin_sets_every_setting_of_a_community_from_a_script(app) -> None:
    add_community(app, "中原社区")

    run(
        app, "communities", "set", "中原社区",
        "--duty-phone", "0371-65123456", "--hotline", "138 0371 0000",
        "--round-times", "9:00，16:00", "--window", "8:00-20:00", "--language", "yue",
    )  # fmt: skip

    found = community(app)
    assert (found.duty_phone, found.hotline) == ("+8637165123456", "+8613803710000")
    assert found.round_times == "09:00,16:00"
    assert (found.window_start, found.window_end) == ("08:00", "20:00")
    assert found.language == "yue"
    shown = json.loads(run(app, "communities", "show", "中原社区", "--json"))
    assert shown["window"] == "08:00-20:00" and shown["language"] == "yue"
    assert shown["defaults"] == []
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "community")).one()
    assert entry.actor == "cli" and "duty_phone" in (entry.detail or "")


def test_the_list_shows_the_defaults_a_community_has_not_changed(app) -> None:
    add_community(app, "中原社区")
    add_community(app, "祥和社区", round_times="10:00")

    rows = json.loads(run(app, "communities", "list", "--json"))

    assert [r["name"] for r in rows] == ["中原社区", "祥和社区"]
    first, second = rows
    assert first["round_times"] == "09:00,16:00" and "round_times" in first["defaults"]
    assert second["round_times"] == "10:00" and first["window"] == "08:00-20:00"
    assert first["language"] == "zh-CN"
    assert "祥和社区" in run(app, "communities", "list")


def test_bad_values_are_refused_as_on_the_admin_page_and_nothing_changes(app) -> None:
    add_community(app, "中原社区", duty_phone="+8613903710001")

    assert "not a phone number" in fails(
        app, "communities", "set", "中原社区", "--duty-phone", "12"
    )
    assert "09:00,16:00" in fails(app, "communities", "set", "中原社区", "--round-times", "25:00")
    assert "end after it starts" in fails(
        app, "communities", "set", "中原社区", "--window", "20:00-08:00"
    )
    assert "zh-CN" in fails(app, "communities", "set", "中原社区", "--language", "klingon")
    assert "no community" in fails(app, "communities", "set", "无名社区", "--hotline", "")
    assert community(app).duty_phone == "+8613903710001"


def test_an_empty_value_goes_back_to_the_default(app) -> None:
    add_community(app, "中原社区", round_times="10:00", hotline="+8613803710000")

    run(app, "communities", "set", "中原社区", "--round-times", "", "--hotline", "")

    found = community(app)
    assert found.round_times is None and found.hotline is None


def test_residents_imported_without_a_language_speak_their_communitys(app, tmp_path) -> None:
    add_community(app, "康桥华城社区")
    run(app, "communities", "set", "康桥华城社区", "--language", "yue")
    sheet = tmp_path / "residents.csv"
    sheet.write_text(
        "name,phone,community,language\n"
        "陈伯,13803710201,康桥华城社区,\n"
        "Mary,13803710202,康桥华城社区,en\n"
        "王阿姨,13803710203,中原社区,\n",
        encoding="utf-8",
    )

    run(app, "residents", "import", str(sheet))

    rows = json.loads(run(app, "residents", "list", "--json"))
    assert {r["name"]: r["language"] for r in rows} == {
        "陈伯": "yue",
        "Mary": "en",
        "王阿姨": "zh-CN",
    }
