"""Households: residents sharing one landline are asked in one call, each for themselves.

Stories through the real app and the simulated carrier, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from ivr.carriers.simulator import SimulatedCarrier
from ivr.clock import FixedClock
from ivr.db import session_scope
from ivr.domain import households, notices
from ivr.domain.residents_import import import_csv
from ivr.domain.rounds import start_manual_round
from storage import Answer, CallAttempt, CallMember, CheckIn, Community, Escalation, Resident
from tests.helpers import add_resident, call_round, script
from tests.ivr.test_inbound_callbacks import call_in

LANDLINE = "+8637165123456"
NOTICE = "明天上午八点在小区门口做核酸检测，请戴好口罩。"
pytestmark = pytest.mark.both_carriers


def couple(app: Flask, **second: object) -> tuple[int, int]:
    return (
        add_resident(app, "张桂兰", LANDLINE),
        add_resident(app, "李建国", LANDLINE, **second),
    )


def checkins(app: Flask) -> dict[str, tuple[str, Decimal | None, bool | None, int]]:
    """Each resident's latest check-in: status, °C, symptoms, attempts."""
    with session_scope(app) as session:
        rows = session.execute(
            select(
                Resident.name,
                CheckIn.status,
                CheckIn.temperature_c,
                CheckIn.symptoms,
                CheckIn.attempts,
            )
            .join(Resident, Resident.id == CheckIn.resident_id)
            .order_by(CheckIn.id)
        ).all()
    return {name: (status, t, s, n) for name, status, t, s, n in rows}


def escalations(app: Flask) -> list[tuple[str, str]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.name, Escalation.reason)
            .join(Resident, Resident.id == Escalation.resident_id)
            .order_by(Escalation.id)
        ).all()
    return [(name, reason) for name, reason in rows]


def calls_placed(app: Flask) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(CallAttempt)) or 0)


def heard(carrier: SimulatedCarrier) -> str:
    return " ".join(record.heard_text() for record in carrier.calls_to(LANDLINE))


def test_a_couple_on_one_landline_both_check_in_in_one_call(app, jobs, carrier, clock) -> None:
    couple(app)
    script(carrier, LANDLINE, "answer 1 365# 1 2 366# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert checkins(app) == {
        "张桂兰": ("complete", Decimal("36.5"), False, 1),
        "李建国": ("complete", Decimal("36.6"), False, 1),
    }
    assert calls_placed(app) == 1
    words = heard(carrier)
    assert "今天要登记2位：张桂兰、李建国。" in words
    assert "先登记张桂兰" in words and "下面登记李建国" in words
    assert words.count("您需要帮忙吗") == 1  # needs: once for the household
    assert escalations(app) == []


def test_one_feverish_member_gets_one_escalation_for_the_right_person(
    app, jobs, carrier, clock
) -> None:
    couple(app)
    script(carrier, LANDLINE, "answer 1 365# 1 2 382# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == [("李建国", "fever")]
    with session_scope(app) as session:
        owners = dict(
            session.execute(
                select(Answer.value, Resident.name)
                .join(Resident, Resident.id == Answer.resident_id)
                .where(Answer.key == "temperature_c")
            ).all()
        )
    assert owners == {"36.5": "张桂兰", "38.2": "李建国"}


def test_a_member_away_is_skipped_and_called_alone_next_time(app, jobs, carrier, clock) -> None:
    couple(app)
    script(
        carrier,
        LANDLINE,
        "answer 1 365# 1 2 7 9",  # 李建国 is out
        "answer 1 367# 1 2 9",  # the retry asks only 李建国
    )
    call_round(app, jobs, carrier, clock)
    assert checkins(app) == {
        "张桂兰": ("complete", Decimal("36.5"), False, 1),
        "李建国": ("complete", Decimal("36.7"), False, 2),
    }
    first, retry = carrier.calls_to(LANDLINE)
    assert "好的，李建国我们下次再登记" in first.heard_text()
    assert "张桂兰" not in retry.heard_text() and "今天要登记" not in retry.heard_text()
    assert "今天还要登记李建国。" in retry.heard_text()  # whoever answers knows whose it is
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CallMember)) == 2  # first call


def test_a_member_away_all_day_is_unreachable_alone(app, jobs, carrier, clock) -> None:
    couple(app)
    script(carrier, LANDLINE, "answer 1 365# 1 2 7 9", "no-answer", "no-answer")
    call_round(app, jobs, carrier, clock)
    assert checkins(app)["张桂兰"][0] == "complete"
    assert checkins(app)["李建国"][0] == "missed"
    assert escalations(app) == [("李建国", "unreachable")]


def test_the_last_member_away_again_on_the_retry_is_not_reached(app, jobs, carrier, clock) -> None:
    couple(app)
    script(carrier, LANDLINE, "answer 1 365# 1 2 7 9", "answer 1 7 9", "no-answer")
    call_round(app, jobs, carrier, clock)
    assert checkins(app)["张桂兰"][0] == "complete"
    assert checkins(app)["李建国"][0] == "missed"  # his away key on the retry is not a check-in
    assert escalations(app) == [("李建国", "unreachable")]


def test_a_resident_alone_on_a_phone_hears_no_names(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", LANDLINE)
    script(carrier, LANDLINE, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert "登记" not in heard(carrier)
    assert checkins(app) == {"王秀英": ("complete", Decimal("36.5"), False, 1)}


def test_a_hang_up_between_members_keeps_the_first_complete(app, jobs, carrier, clock) -> None:
    couple(app)
    script(carrier, LANDLINE, "answer 1 365# 1 2 hangup", "answer 1 368# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert checkins(app) == {
        "张桂兰": ("complete", Decimal("36.5"), False, 1),
        "李建国": ("complete", Decimal("36.8"), False, 2),
    }


def test_a_member_on_hold_is_not_asked(app, jobs, carrier, clock) -> None:
    tomorrow = clock.now().date() + dt.timedelta(days=1)
    couple(app, hold_until=tomorrow, hold_reason="住院")
    script(carrier, LANDLINE, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert checkins(app) == {"张桂兰": ("complete", Decimal("36.5"), False, 1)}
    assert "李建国" not in heard(carrier) and "今天要登记" not in heard(carrier)


def test_nobody_answering_leaves_every_member_unreachable(app, jobs, carrier, clock) -> None:
    couple(app)
    script(carrier, LANDLINE, "no-answer", "no-answer", "no-answer")
    call_round(app, jobs, carrier, clock)
    assert calls_placed(app) == 3  # one call per attempt for the household
    assert sorted(escalations(app)) == [("张桂兰", "unreachable"), ("李建国", "unreachable")]


def test_a_call_back_from_the_household_phone_asks_the_members_still_due(
    app, server, jobs, carrier, clock
) -> None:
    couple(app)
    script(carrier, LANDLINE, "answer 1 365# 1 2 7 9")  # 李建国 was out
    start_manual_round_now(app, clock)
    jobs.dial()
    assert carrier.wait_idle(30)

    clock.advance(minutes=10)
    record = call_in(server, carrier, LANDLINE, "1 367# 1 2 9")  # he rings back
    assert "张桂兰" not in record.heard_text() and not record.errors
    assert "今天还要登记李建国。" in record.heard_text()
    assert checkins(app) == {
        "张桂兰": ("complete", Decimal("36.5"), False, 1),
        "李建国": ("complete", Decimal("36.7"), False, 1),
    }


def test_a_call_back_asks_both_when_both_are_still_due(app, server, jobs, carrier, clock) -> None:
    couple(app)
    script(carrier, LANDLINE, "no-answer")
    start_manual_round_now(app, clock)
    jobs.dial()
    assert carrier.wait_idle(30)

    record = call_in(server, carrier, LANDLINE, "1 365# 1 2 372# 1 2 9")
    assert "今天要登记2位：张桂兰、李建国。" in record.heard_text()
    statuses = {name: row[0] for name, row in checkins(app).items()}
    assert statuses == {"张桂兰": "complete", "李建国": "complete"}
    assert jobs.dial() == 0  # nobody's retry is left


def start_manual_round_now(app: Flask, clock: FixedClock) -> None:
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        for community in session.scalars(select(Community)):
            start_manual_round(session, community, settings, clock.now())


def import_file(app: Flask, clock: FixedClock, data: str) -> list[str]:
    with session_scope(app) as session:
        return import_csv(session, data, clock.now()).format_report()


def test_two_rows_sharing_a_phone_are_a_household_and_reimporting_changes_nothing(
    app, clock
) -> None:
    data = "name,phone,community\n张桂兰,0371-65123456,中原社区\n李建国,0371-65123456,中原社区\n"
    assert import_file(app, clock, data)[-1].startswith("2 created, 0 updated")
    assert import_file(app, clock, data)[-1].startswith("0 created, 0 updated, 2 unchanged")
    with session_scope(app) as session:
        assert [r.name for r in households.housemates(session, LANDLINE)] == ["张桂兰", "李建国"]


def test_an_import_adds_a_second_member_to_an_existing_phone(app, jobs, carrier, clock) -> None:
    add_resident(app, "张桂兰", LANDLINE, address="建设路 12 号")
    report = import_file(app, clock, "name,phone,community\n李建国,0371-65123456,中原社区\n")
    assert report == [
        "line 2: 李建国 added to the household of 张桂兰 (same phone)",
        "1 created, 0 updated, 0 unchanged, 0 rows with errors skipped",
    ]
    with session_scope(app) as session:
        first = session.scalars(select(Resident).where(Resident.name == "张桂兰")).one()
        assert first.address == "建设路 12 号"  # not overwritten
    script(carrier, LANDLINE, "answer 1 365# 1 2 366# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert {name: row[0] for name, row in checkins(app).items()} == {
        "张桂兰": "complete",
        "李建国": "complete",
    }


def test_a_notice_heard_in_the_morning_call_is_not_read_again_on_the_retry(
    app, jobs, carrier, clock
) -> None:
    couple(app)
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        today = clock.now().date()
        notices.add(session, community.id, NOTICE, today, today, "staff", clock.now())
    script(
        carrier,
        LANDLINE,
        "answer 1 365# 1 2 7 9 1",  # 李建国 is out; the notice is read, then any key
        "answer 1 367# 1 2 9",  # the retry asks only him: the household heard it today
    )
    call_round(app, jobs, carrier, clock)
    first, retry = carrier.calls_to(LANDLINE)
    assert "社区通知：" + NOTICE in first.heard_text()
    assert "社区通知" not in retry.heard_text()
    assert checkins(app)["李建国"][0] == "complete"


def test_the_member_whose_isolation_ends_today_is_named_in_the_household_call(
    app, jobs, carrier, clock
) -> None:
    couple(app, isolation_start=dt.date(2026, 11, 15), isolation_days=14)  # he ends today
    script(carrier, LANDLINE, "answer 1 365# 1 2 366# 1 2 9 1")
    call_round(app, jobs, carrier, clock)
    words = heard(carrier)
    assert "李建国的居家隔离今天期满，感谢配合。" in words
    assert "您的居家隔离今天期满" not in words  # 张桂兰, who answered, is not released
