"""A check-in call end to end: the real app over HTTP, driven by the real simulated carrier.

Each test is one resident's story from the demo; the database rows are the evidence.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from ivr import flow_of, settings_of
from ivr.carriers.simulator import SimulatedCarrier
from ivr.db import session_scope
from ivr.domain.reports import call_rows, checkin_rows, escalation_rows
from storage import Answer
from tests.helpers import add_community, add_resident, call_round, script

PHONE = "+8613803710101"
pytestmark = pytest.mark.both_carriers


def checkin(app: Flask) -> dict[str, object]:
    with session_scope(app) as session:
        rows = checkin_rows(session, settings_of(app).tz, flow=flow_of(app))
    assert len(rows) == 1
    return rows[0]


def escalations(app: Flask) -> dict[str, str]:
    with session_scope(app) as session:
        rows = escalation_rows(session, app.extensions["pingan.settings"].tz)
    return {str(r["reason"]): str(r["severity"]) for r in rows}


def heard(carrier: SimulatedCarrier) -> str:
    return " ".join(record.heard_text() for record in carrier.calls_to(PHONE))


def test_a_healthy_resident_checks_in_complete(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)
    row = checkin(app)
    assert row["status"] == "complete"
    assert row["temperature_c"] == 36.5 and row["symptoms"] is False and row["needs"] == []
    assert escalations(app) == {}
    assert "三十六点五度" in heard(carrier)
    assert all(not r.errors for r in carrier.calls_to(PHONE))


def test_a_resident_with_38_2_lands_on_the_escalation_list(app, jobs, carrier, clock) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer 1 382# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert checkin(app)["temperature_c"] == 38.2
    assert escalations(app) == {"fever": "high"}


def test_high_fever_with_symptoms_is_urgent(app, jobs, carrier, clock) -> None:
    add_resident(app, "张桂兰", PHONE, lives_alone=True)
    script(carrier, PHONE, "answer 1 392# 1 1 9")
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == {"high_fever": "urgent", "symptoms": "high"}


def test_a_low_temperature_is_escalated(app, jobs, carrier, clock) -> None:
    add_resident(app, "吴国强", PHONE)
    script(carrier, PHONE, "answer 1 348# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == {"low_temperature": "high"}


def test_a_wrong_temperature_then_a_right_one_stores_the_right_one(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "杨志强", PHONE)
    script(carrier, PHONE, "answer 1 999# 368# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert checkin(app)["temperature_c"] == 36.8
    with session_scope(app) as session:
        stored = session.scalars(select(Answer.value).where(Answer.key == "temperature_c")).all()
    assert [Decimal(v) for v in stored] == [Decimal("36.8")]


def test_hanging_up_after_the_temperature_keeps_it_as_partial(app, jobs, carrier, clock) -> None:
    add_resident(app, "赵淑芬", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 1 hangup")
    call_round(app, jobs, carrier, clock)
    row = checkin(app)
    assert row["status"] == "partial"
    assert row["temperature_c"] == 36.5 and row["symptoms"] is True
    assert row["attempts"] == 1  # a temperature was given: no second call


def test_groceries_and_medicine_are_recorded_as_needs(app, jobs, carrier, clock) -> None:
    add_resident(app, "黄明", PHONE)
    script(carrier, PHONE, "answer 1 364# 1 2 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert checkin(app)["needs"] == ["groceries", "medicine"]


def test_pressing_0_with_nobody_on_duty_records_a_callback_request(
    app, jobs, carrier, clock
) -> None:
    add_community(app, "中原社区", duty_phone="+8613903710001")
    add_resident(app, "周丽华", PHONE)
    script(carrier, PHONE, "answer 1 366# 1 2 0 dial=no-answer")
    call_round(app, jobs, carrier, clock)
    assert checkin(app)["callback_requested"] is True
    assert escalations(app) == {"callback_requested": "high"}
    (record,) = carrier.calls_to(PHONE)
    assert record.dials and record.dials[0][0] == "+8613903710001"


@pytest.mark.twilio_only("VMS reports no transfer result: a transfer keeps its callback request")
def test_pressing_0_and_talking_to_staff_needs_no_callback(app, jobs, carrier, clock) -> None:
    add_community(app, "中原社区", duty_phone="+8613903710001")
    add_resident(app, "徐凤英", PHONE)
    script(carrier, PHONE, "answer 1 367# 1 2 0 dial=completed")
    call_round(app, jobs, carrier, clock)
    row = checkin(app)
    assert row["callback_requested"] is False and row["status"] == "complete"


def test_without_a_duty_phone_pressing_0_still_gets_a_callback(app, jobs, carrier, clock) -> None:
    add_resident(app, "周丽华", PHONE)
    script(carrier, PHONE, "answer 1 366# 1 2 0")
    call_round(app, jobs, carrier, clock)
    assert checkin(app)["callback_requested"] is True
    (record,) = carrier.calls_to(PHONE)
    assert not record.dials and not record.errors


def test_an_english_speaker_hears_english(app, jobs, carrier, clock) -> None:
    add_resident(app, "Emily Carter", PHONE, language="en")
    script(carrier, PHONE, "answer 1 371# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert "You entered 37.1 degrees" in heard(carrier)
    assert checkin(app)["status"] == "complete"


def test_the_calls_table_shows_each_key_step_by_step(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)
    with session_scope(app) as session:
        (call,) = call_rows(session, app.extensions["pingan.settings"].tz)
    (record,) = carrier.calls_to(PHONE)
    assert call["status"] == "completed" and call["call_sid"] == record.sid
    assert call["keys"] == [
        {"step": "greeting", "keys": "1"},
        {"step": "temperature", "keys": "365"},
        {"step": "temperature", "keys": "1"},
        {"step": "symptoms", "keys": "2"},
        {"step": "needs", "keys": "9"},
    ]


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("no-answer", "unreachable"), ("busy", "unreachable"), ("answer - -", "no_response")],
)
def test_a_resident_never_reached_ends_missed_and_escalated(
    app, jobs, carrier, clock, behaviour: str, reason: str
) -> None:
    add_resident(app, "刘德华", PHONE)
    script(carrier, PHONE, behaviour)
    call_round(app, jobs, carrier, clock)
    row = checkin(app)
    assert row["status"] == "missed" and row["attempts"] == 3
    assert escalations(app) == {reason: "high"}
