"""The pingan commands an operator runs, through click's runner against the real app."""

from __future__ import annotations

import json
import os
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select

from ivr.cli import Pingan, cli
from ivr.db import engine, session_scope
from storage import CallAttempt
from storage.migrate import current_revision, head_revision
from tests.helpers import add_resident, run_until_settled, script

PHONE = "+8613803710101"


def run(app, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), obj=Pingan(app=app), input=input)


def test_init_brings_the_database_to_the_latest_schema(app) -> None:
    result = run(app, "init")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert current_revision(engine(app)) == head_revision()


def test_calling_one_resident_now_waits_for_the_end_of_the_call(app, carrier) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 372# 1 2 1 9")
    result = run(app, "call", "138 0371 0101")
    assert result.exit_code == 0, result.output
    assert "completed" in result.output and "37.2" in result.output
    rows = json.loads(run(app, "checkins", "--json").output)
    assert [(r["phone"], r["status"], r["temperature_c"], r["needs"]) for r in rows] == [
        (PHONE, "complete", 37.2, ["groceries"])
    ]
    calls = json.loads(run(app, "calls", "--json").output)
    assert set(calls[0]) >= {
        "call_sid",
        "phone",
        "attempt",
        "status",
        "answered_by",
        "duration_s",
        "started_at",
        "keys",
    }


def test_one_resident_is_added_without_a_csv_and_an_existing_phone_is_never_overwritten(
    app,
) -> None:
    added = run(
        app,
        "residents",
        "add",
        "张桂兰",
        "138 0371 0102",
        "--community",
        "中原社区",
        "--lives-alone",
        "--address",
        "建设西路12号院1号楼",
    )
    assert added.exit_code == 0, added.output
    assert "Added 张桂兰 (+8613803710102) to 中原社区." in added.output
    again = run(app, "residents", "add", "张桂兰", "13803710102", "--community", "中原社区")
    assert again.exit_code != 0
    assert "+8613803710102 is already the phone of 张桂兰 (中原社区)" in again.output
    housemate = run(app, "residents", "add", "李建国", "13803710102", "--community", "中原社区")
    assert housemate.exit_code == 0, housemate.output  # her husband, on the same landline
    bad = run(
        app,
        "residents",
        "add",
        "李建国",
        "123",
        "--community",
        "中原社区",
        "--isolation-days",
        "999",
    )
    assert bad.exit_code != 0 and "too short" in bad.output and "isolation_days" in bad.output
    row, _husband = json.loads(run(app, "residents", "list", "--json").output)
    assert (row["name"], row["lives_alone"], row["address"]) == (
        "张桂兰",
        True,
        "建设西路12号院1号楼",
    )


def test_calling_a_number_nobody_has_is_refused(app) -> None:
    result = run(app, "call", "13900000000")
    assert result.exit_code != 0
    assert "no resident has the phone number +8613900000000" in result.output


def test_a_call_asked_for_after_the_calling_window_is_refused_and_marks_nobody_missed(
    app, carrier, clock
) -> None:
    from storage import CheckIn, Escalation

    add_resident(app, "王秀英", PHONE)
    evening = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=21, minute=30)
    clock.set(evening)  # the default window closes at 20:00
    result = run(app, "call", PHONE)
    assert result.exit_code != 0
    assert "outside 中原社区's calling window 08:00-20:00" in result.output
    assert carrier.calls_to(PHONE) == []
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 0
        assert session.scalar(select(func.count()).select_from(Escalation)) == 0


def test_a_second_call_while_one_is_in_progress_is_refused(app, carrier, clock) -> None:
    from ivr.domain.rounds import start_manual_round
    from ivr.worker.dialer import queue_checkin_now
    from storage import CheckIn, Community

    add_resident(app, "王秀英", PHONE)
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        start_manual_round(session, community, app.extensions["pingan.settings"], clock.now())
        queue_checkin_now(session, session.scalars(select(CheckIn)).one(), clock.now())
    result = run(app, "call", PHONE)
    assert result.exit_code != 0 and "already in progress" in result.output
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CallAttempt)) == 1


def test_the_escalation_list_prints_as_json_with_its_contract_fields(app, carrier) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer 1 391# 1 2 9")
    assert run(app, "call", PHONE).exit_code == 0
    rows = json.loads(run(app, "escalations", "--json").output)
    assert [(r["reason"], r["severity"], r["status"]) for r in rows] == [
        ("high_fever", "urgent", "open")
    ]
    assert set(rows[0]) >= {
        "id",
        "phone",
        "name",
        "community",
        "reason",
        "severity",
        "status",
        "opened_at",
        "detail",
    }


def test_a_round_started_for_one_community_calls_only_its_residents(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    add_resident(app, "杨志强", "+8613803710201", "祥和社区")
    assert run(app, "round", "start", "--community", "中原社区").exit_code == 0

    (before,) = json.loads(run(app, "round", "status", "--json").output)
    assert (before["community"], before["pending"], before["complete"]) == ("中原社区", 1, 0)
    run_until_settled(jobs, carrier, clock)
    (after,) = json.loads(run(app, "round", "status", "--json").output)
    assert (after["pending"], after["dialing"], after["in_call"], after["complete"]) == (0, 0, 0, 1)
    assert carrier.calls_to("+8613803710201") == []


def test_round_status_shows_a_progress_bar_per_community(app, carrier) -> None:
    add_resident(app, "王秀英", PHONE)
    assert run(app, "round", "start").exit_code == 0
    output = run(app, "round", "status").output
    assert "中原社区" in output and "0/1" in output


def test_a_hold_takes_the_dates_staff_type_and_refuses_one_in_the_past(app) -> None:
    add_resident(app, "王秀英", PHONE)
    held = run(app, "residents", "hold", PHONE, "--until", "2026/12/10", "--reason", "住院")
    assert held.exit_code == 0, held.output
    assert "on hold until 2026-12-10" in held.output
    past = run(app, "residents", "hold", PHONE, "--until", "2026-11-27", "--reason", "住院")
    assert past.exit_code != 0 and "2026-11-27 is before today (2026-11-28)" in past.output


def test_a_misspelt_community_or_language_fails_with_a_sentence_not_an_empty_table(app) -> None:
    add_resident(app, "王秀英", PHONE)
    for command in ("checkins", "calls", "escalations"):
        result = run(app, command, "--community", "不存在")
        assert result.exit_code != 0, command
        assert "no community named '不存在' (communities: 中原社区)" in result.output
    shown = run(app, "flow", "show", "--lang", "fr")
    assert shown.exit_code != 0
    assert "the flow has no prompts in 'fr'; choose one of" in shown.output


def test_a_check_in_recorded_from_the_cli_takes_the_calls_range_and_the_right_staff(app) -> None:
    from tests.dashboard.pages import make_people

    make_people(app)  # 李建国 (+8613803710102) in 中原社区; 赵红梅 acts for it, 钱建军 does not
    slip = run(
        app, "checkins", "record", "13803710102", "--temperature", "375", "--by", "13903710011"
    )
    assert slip.exit_code != 0 and "did you mean 37.5?" in slip.output
    low = run(
        app, "checkins", "record", "13803710102", "--temperature", "32", "--by", "13903710011"
    )
    assert low.exit_code != 0 and "outside 34.0–42.0" in low.output
    other = run(
        app, "checkins", "record", "13803710102", "--temperature", "36.5", "--by", "13903710012"
    )
    assert other.exit_code != 0 and "钱建军 does not act for 中原社区" in other.output
    done = run(
        app, "checkins", "record", "13803710102", "--temperature", "36,5", "--by", "13903710011"
    )
    assert done.exit_code == 0, done.output


def test_import_help_lists_every_column_and_chinese_headers_work(app, tmp_path) -> None:
    from ivr.domain.residents_import import COLUMNS

    helped = run(app, "residents", "import", "--help").output
    assert [c for c in COLUMNS if c not in helped] == []
    csv_file = tmp_path / "居民.csv"
    csv_file.write_text(
        "姓名,手机号,社区,隔离天数\n王秀英,13803710101,中原社区,7\n", encoding="utf-8"
    )
    imported = run(app, "residents", "import", str(csv_file))
    assert "1 created" in imported.output, imported.output


def test_a_long_escalation_detail_is_cut_after_a_whole_word() -> None:
    from ivr.tables import shorten, width

    english = "temperature 39.1 keyed at 16:05, never confirmed at the read-back, resident hung up"
    cut = shorten(english, 40)
    assert cut == "temperature 39.1 keyed at 16:05, never…"
    chinese = shorten("体温三十九点一度，未在复述时确认，居民已挂断电话，请尽快上门查看", 20)
    assert width(chinese) <= 20 and chinese.endswith("…")
    assert shorten("short", 40) == "short"


def test_commands_that_print_show_only_warnings_of_the_log_but_servers_keep_it(monkeypatch) -> None:
    from ivr.cli import _quiet_unless_serving

    monkeypatch.delenv("PINGAN_LOG_LEVEL", raising=False)
    _quiet_unless_serving(["pingan", "worker"])
    assert "PINGAN_LOG_LEVEL" not in os.environ
    _quiet_unless_serving(["pingan", "--help"])  # no command yet
    _quiet_unless_serving(["pingan", "checkins", "--json"])
    assert os.environ["PINGAN_LOG_LEVEL"] == "WARNING"
    monkeypatch.setenv("PINGAN_LOG_LEVEL", "DEBUG")
    _quiet_unless_serving(["pingan", "checkins"])
    assert os.environ["PINGAN_LOG_LEVEL"] == "DEBUG"


def test_a_command_by_a_households_phone_asks_which_member_and_acts_on_that_one(
    app, carrier
) -> None:
    add_resident(app, "张桂兰", PHONE)
    add_resident(app, "李建国", PHONE)
    commands = [
        ("residents", "hold", PHONE, "--until", "2026-12-10", "--reason", "住院"),
        ("residents", "release", PHONE),
        ("residents", "unlink", PHONE),
        ("checkins", "record", PHONE, "--temperature", "36.5", "--by", "赵红梅"),
        ("call", PHONE),
    ]
    for command in commands:
        refused = run(app, *command)
        assert refused.exit_code == 2, command
        assert "+8613803710101 is shared by 张桂兰、李建国: say whom with --name NAME" in (
            refused.output
        )
    wrong = run(app, "residents", "release", PHONE, "--name", "王秀英")
    assert wrong.exit_code == 2 and "the phone of 张桂兰、李建国, not of '王秀英'" in wrong.output

    held = run(app, *commands[0], "--name", "李建国")
    assert held.exit_code == 0 and held.output.startswith("李建国 (+8613803710101) on hold")
    rows = {r["name"]: r for r in json.loads(run(app, "residents", "list", "--json").output)}
    assert rows["李建国"]["hold_until"] == "2026-12-10"
    assert rows["张桂兰"]["hold_until"] is None  # the other member's calls go on
    assert rows["张桂兰"]["household"] == rows["李建国"]["household"] == "张桂兰、李建国"


def test_calling_a_household_member_by_name_asks_the_housemates_still_due_too(app, carrier) -> None:
    add_resident(app, "张桂兰", PHONE)
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer 1 372# 1 2 9")
    result = run(app, "call", PHONE, "--name", "李建国")
    assert result.exit_code == 0, result.output
    assert "今天还要登记李建国。" in carrier.calls_to(PHONE)[0].heard_text()
