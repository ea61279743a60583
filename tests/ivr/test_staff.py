"""Staff and the duty roster: who is registered, who is on duty, who supervises."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain.staff import StaffError, add_staff, on_duty, supervisors
from storage import Staff
from tests.conftest import SHANGHAI
from tests.helpers import add_community


def run(app, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code == 0, result.output
    return result.output


def fails(app, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code != 0
    return result.output


def names(staff: list[Staff]) -> list[str]:
    return [s.name for s in staff]


def test_staff_are_added_listed_and_removed_from_the_command_line(app) -> None:
    add_community(app, "中原社区")
    out = run(
        app,
        "staff",
        "add",
        "--name",
        "赵红梅",
        "--phone",
        "139-0371-0011",
        "--community",
        "中原社区",
    )
    assert "赵红梅 (staff) +8613903710011" in out
    run(app, "staff", "add", "--name", "周主任", "--phone", "13903710099", "--role", "supervisor")
    listing = run(app, "staff", "list")
    assert "赵红梅" in listing and "139 0371 0011" in listing and "(all)" in listing
    run(app, "staff", "remove", "13903710011")
    assert "赵红梅" not in run(app, "staff", "list")
    assert "赵红梅" in run(app, "staff", "list", "--all")


def test_staff_without_a_community_or_with_a_taken_phone_are_refused(app) -> None:
    add_community(app, "中原社区")
    assert "belongs to a community" in fails(
        app, "staff", "add", "--name", "赵红梅", "--phone", "13903710011"
    )
    run(
        app, "staff", "add", "--name", "赵红梅", "--phone", "13903710011", "--community", "中原社区"
    )
    assert "already registered to 赵红梅" in fails(
        app, "staff", "add", "--name", "钱", "--phone", "13903710011", "--community", "中原社区"
    )
    assert "no community named" in fails(
        app, "staff", "add", "--name", "钱", "--phone", "13903710012", "--community", "别处"
    )


def test_a_removed_staff_member_can_be_added_again(app, clock) -> None:
    community_id = add_community(app, "中原社区")
    with session_scope(app) as session:
        first = add_staff(session, "赵红梅", "13903710011", community_id, "staff", clock.now())
        first.active = False
        again = add_staff(session, "赵红梅", "13903710011", community_id, "staff", clock.now())
        assert again.id == first.id and again.active
        with pytest.raises(StaffError, match="not a phone number"):
            add_staff(session, "钱", "hello", community_id, "staff", clock.now())


def test_without_a_roster_all_active_staff_are_on_duty(app, clock) -> None:
    zhongyuan = add_community(app, "中原社区")
    other = add_community(app, "嵩山社区")
    with session_scope(app) as session:
        add_staff(session, "赵红梅", "13903710011", zhongyuan, "staff", clock.now())
        add_staff(session, "钱建军", "13903710012", zhongyuan, "staff", clock.now()).active = False
        add_staff(session, "李强", "13903710014", other, "staff", clock.now())
        assert names(on_duty(session, zhongyuan, clock.now(), SHANGHAI)) == ["赵红梅"]


def test_the_roster_puts_staff_on_duty_by_local_weekday_and_time(app, clock) -> None:
    community_id = add_community(app, "中原社区")
    run(app, "staff", "add", "--name", "日班", "--phone", "13903710011", "--community", "中原社区")
    run(app, "staff", "add", "--name", "夜班", "--phone", "13903710012", "--community", "中原社区")
    run(app, "staff", "add", "--name", "周末", "--phone", "13903710013", "--community", "中原社区")
    run(app, "staff", "duty", "add", "日班", "--from", "08:00", "--to", "20:00")
    run(app, "staff", "duty", "add", "夜班", "--from", "20:00", "--to", "24:00")
    run(app, "staff", "duty", "add", "周末", "--day", "sat")
    assert "日班" in run(app, "staff", "duty") and "sat" in run(app, "staff", "duty")
    saturday_morning = dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    sunday_night = dt.datetime(2026, 11, 29, 21, 30, tzinfo=SHANGHAI)
    with session_scope(app) as session:
        assert names(on_duty(session, community_id, saturday_morning, SHANGHAI)) == ["日班", "周末"]
        assert names(on_duty(session, community_id, sunday_night, SHANGHAI)) == ["夜班"]
    assert "HH:MM" in fails(app, "staff", "duty", "add", "夜班", "--from", "22:00", "--to", "06:00")


def test_supervisors_of_the_community_and_of_all_communities_supervise(app, clock) -> None:
    zhongyuan = add_community(app, "中原社区")
    other = add_community(app, "嵩山社区")
    with session_scope(app) as session:
        add_staff(session, "主任", "13903710099", None, "supervisor", clock.now())
        add_staff(session, "站长", "13903710098", zhongyuan, "supervisor", clock.now())
        add_staff(session, "别的站长", "13903710097", other, "admin", clock.now())
        add_staff(session, "赵红梅", "13903710011", zhongyuan, "staff", clock.now())
        assert names(supervisors(session, zhongyuan)) == ["主任", "站长"]
