"""Residents calling the Pingan number: a missed call returned, an early report, a cry for help.

The simulated carrier rings the app over HTTP: on Twilio the signed "A call comes in" webhook,
exactly as a number configured per docs/inbound.md would; on Alibaba Cloud the 智能语音交互呼入
callback (``callin``) with the console's secret. The rows are the evidence.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select

from ivr import flow_of, settings_of
from ivr.carriers.aliyun.simulator import AliyunCall, AliyunSimulator
from ivr.carriers.simulator import CallRecord, SimulatedCarrier
from ivr.clock import FixedClock
from ivr.db import session_scope
from ivr.domain.reports import call_rows, checkin_rows, escalation_rows
from ivr.domain.rounds import start_manual_round
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Community
from tests.helpers import add_community, add_resident, run_until_settled, script
from tests.ivr.test_voice_webhooks import sign

PHONE = "+8613803710101"
APP_NUMBER = "+8657100000000"
DUTY_PHONE = "+8613903710001"
TWILIO_FORM = "posts Twilio's own form; the VMS callin stories are in tests/aliyun"
pytestmark = pytest.mark.both_carriers


def call_in(
    server: str, carrier: SimulatedCarrier | AliyunSimulator, caller: str, keys: str
) -> CallRecord | AliyunCall:
    """``caller`` rings the Pingan number and keys ``keys`` (one entry per prompt)."""
    if isinstance(carrier, AliyunSimulator):  # the console's callback URL, set by ``server``
        return carrier.incoming_call(caller, APP_NUMBER, f"answer {keys}".strip())
    return carrier.incoming_call(
        caller,
        APP_NUMBER,
        f"{server}/voice/incoming",
        f"answer {keys}".strip(),
        status_callback=f"{server}/voice/incoming/status",
    )


def start_round(app: Flask, clock: FixedClock) -> None:
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        for community in session.scalars(select(Community)):
            start_manual_round(session, community, settings, clock.now())


def checkins(app: Flask) -> list[dict[str, object]]:
    with session_scope(app) as session:
        return checkin_rows(session, settings_of(app).tz, flow=flow_of(app))


def escalations(app: Flask) -> dict[str, str]:
    with session_scope(app) as session:
        rows = escalation_rows(session, app.extensions["pingan.settings"].tz)
    return {str(r["reason"]): str(r["severity"]) for r in rows}


def next_attempt_at(app: Flask) -> dt.datetime | None:
    with session_scope(app) as session:
        return session.scalars(select(CheckIn.next_attempt_at)).one()


def attempts(app: Flask) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(CallAttempt.direction, CallAttempt.outcome).order_by(CallAttempt.id)
        )
        return [(d, o) for d, o in rows]


def test_a_resident_who_missed_the_call_calls_back_and_it_counts_for_the_round(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "no-answer")
    start_round(app, clock)
    jobs.dial()
    assert carrier.wait_idle(30)
    assert next_attempt_at(app) is not None  # a retry is pending

    clock.advance(minutes=4)
    record = call_in(server, carrier, PHONE, "1 365# 1 2 9")

    (row,) = checkins(app)
    assert row["status"] == "complete" and row["temperature_c"] == 36.5
    assert row["round"] is not None and row["attempts"] == 1  # the call-back is not an attempt
    assert "中原社区" in record.heard_text() and not record.errors
    assert attempts(app) == [("outbound", "not_reached"), ("inbound", "finished")]


def test_a_call_back_stops_the_pending_retries(app, server, jobs: Jobs, carrier, clock) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "busy")
    start_round(app, clock)
    jobs.dial()
    assert carrier.wait_idle(30)

    call_in(server, carrier, PHONE, "1 366# 1 2 9")
    clock.advance(hours=2)
    assert jobs.dial() == 0
    assert next_attempt_at(app) is None
    assert len(carrier.calls_to(PHONE)) == 1


def test_a_resident_already_checked_in_today_who_calls_back_is_asked_again_and_the_morning_stays(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    add_resident(app, "陈桂英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    start_round(app, clock)
    jobs.dial()
    assert carrier.wait_idle(30)

    clock.advance(hours=3)
    record = call_in(server, carrier, PHONE, "1 367# 1 2 9")

    assert "中原社区的每日健康回访电话" in record.heard_text() and not record.errors
    morning, call_back = checkins(app)
    assert (morning["status"], morning["temperature_c"]) == ("complete", 36.5)
    assert morning["round"] is not None and morning["attempts"] == 1
    assert (call_back["source"], call_back["round"]) == ("inbound", None)
    assert (call_back["status"], call_back["temperature_c"]) == ("complete", 36.7)
    assert attempts(app) == [("outbound", "finished"), ("inbound", "finished")]


@pytest.mark.twilio_only(TWILIO_FORM)
def test_while_the_resident_is_on_the_line_the_pending_retry_is_held(app, jobs, clock) -> None:
    add_resident(app, "张桂兰", PHONE)
    start_round(app, clock)
    assert next_attempt_at(app) is not None

    response = post_incoming(app, From=PHONE)

    assert response.status_code == 200 and "中原社区" in response.data.decode()
    assert next_attempt_at(app) is None
    assert jobs.dial() == 0  # the dialer leaves the resident alone while they talk to us


def test_a_call_back_without_a_temperature_keeps_the_remaining_calls(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    add_resident(app, "吴国强", PHONE)
    script(carrier, PHONE, "no-answer", "answer 1 364# 1 2 9")
    start_round(app, clock)
    jobs.dial()
    assert carrier.wait_idle(30)

    call_in(server, carrier, PHONE, "hangup")
    retry = next_attempt_at(app)
    assert retry is not None and retry > clock.now()

    run_until_settled(jobs, carrier, clock)
    (row,) = checkins(app)
    assert row["status"] == "complete" and row["temperature_c"] == 36.4
    assert row["attempts"] == 2


def test_outside_a_round_a_resident_can_report_feeling_worse(app, server, carrier) -> None:
    add_resident(app, "杨志强", PHONE)

    call_in(server, carrier, PHONE, "1 384# 1 1 2 9")

    (row,) = checkins(app)
    assert row["round"] is None and row["source"] == "inbound"
    assert row["status"] == "complete" and row["temperature_c"] == 38.4
    assert row["symptoms"] is True and row["needs"] == ["medicine"]
    assert escalations(app) == {"fever": "high", "symptoms": "high"}


def test_outside_a_round_a_call_without_a_temperature_simply_closes(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    add_resident(app, "赵淑芬", PHONE)

    call_in(server, carrier, PHONE, "1 - - 2 1 9")
    clock.advance(hours=12)
    jobs.dial()
    jobs.sweep()

    (row,) = checkins(app)
    assert row["status"] == "partial" and row["temperature_c"] is None
    assert row["needs"] == ["groceries"]
    assert escalations(app) == {}  # not "missed": nobody was waiting for this call
    assert carrier.calls_to(PHONE) == []  # and no call is placed for it


def test_an_unknown_number_keys_in_the_registered_number_and_checks_in(
    app, server, carrier
) -> None:
    add_resident(app, "黄明", PHONE, language="en")

    record = call_in(server, carrier, "+8613900000000", "13803710101# 1 371# 1 2 9")

    heard = record.heard_text()
    assert "我们没有认出您的来电号码" in heard  # the deployment's language: we don't know them yet
    assert "Thank you, we found your registration." in heard  # then the resident's own language
    assert "daily health check-in call from 中原社区" in heard
    assert "You entered 37.1 degrees" in heard
    (row,) = checkins(app)
    assert row["name"] == "黄明" and row["status"] == "complete"
    with session_scope(app) as session:
        (call,) = call_rows(session, app.extensions["pingan.settings"].tz)
    assert call["direction"] == "inbound" and call["name"] == "黄明"


@pytest.mark.parametrize("settings_overrides", [{"duty_phone": DUTY_PHONE}])
def test_an_unknown_caller_who_cannot_be_matched_is_put_through_to_the_duty_phone(
    app, server, carrier
) -> None:
    add_resident(app, "徐凤英", PHONE)

    record = call_in(server, carrier, "+8613900000000", "13800000000# 12345678# dial=completed")

    assert [d.number for d in record.dials] == [DUTY_PHONE]
    assert record.heard_text().count("没有找到这个号码") == 1
    assert checkins(app) == []


@pytest.mark.parametrize("withheld", ["anonymous", "+266696687", "unknown", ""])
def test_a_withheld_number_is_asked_to_identify_and_without_a_duty_phone_hears_staff_will_call(
    app, server, carrier, withheld: str
) -> None:
    add_resident(app, "周丽华", PHONE)

    record = call_in(server, carrier, withheld, "- -")

    heard = record.heard_text()
    assert "请输入您在社区登记的电话号码" in heard
    assert "工作人员会尽快给您回电话" in heard
    assert not record.dials and not record.errors
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert (attempt.direction, attempt.resident_id, attempt.status) == (
            "inbound",
            None,
            "completed",
        )


def test_a_withheld_number_can_still_check_in_by_keying_the_registered_number(
    app, server, carrier
) -> None:
    add_resident(app, "刘德华", PHONE)

    call_in(server, carrier, "anonymous", "13803710101# 1 365# 1 2 9")

    (row,) = checkins(app)
    assert row["name"] == "刘德华" and row["temperature_c"] == 36.5


@pytest.mark.twilio_only(TWILIO_FORM)
def test_a_repeated_incoming_request_continues_the_same_call(app) -> None:
    add_resident(app, "王秀英", PHONE)

    first = post_incoming(app, From=PHONE)
    again = post_incoming(app, From=PHONE)

    assert first.data == again.data  # the greeting again, not a second call
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CallAttempt)) == 1


@pytest.mark.twilio_only(TWILIO_FORM)
def test_an_unsigned_incoming_call_is_refused(app) -> None:
    response = app.test_client().post("/voice/incoming", data=incoming_form(From=PHONE))
    assert response.status_code == 403


@pytest.mark.twilio_only(TWILIO_FORM)
def test_a_status_callback_for_an_unknown_incoming_call_is_ignored(app) -> None:
    form = incoming_form(CallStatus="completed", CallSid="CA" + "9" * 32)
    response = app.test_client().post(
        "/voice/incoming/status",
        data=form,
        headers={"X-Twilio-Signature": sign("http://localhost/voice/incoming/status", form)},
    )
    assert response.status_code == 200


def test_the_community_duty_phone_is_used_for_a_known_caller_pressing_0(
    app, server, carrier
) -> None:
    add_community(app, "中原社区", duty_phone=DUTY_PHONE)
    add_resident(app, "王秀英", PHONE)

    record = call_in(server, carrier, PHONE, "1 366# 1 2 0 dial=completed")

    assert [d.number for d in record.dials] == [DUTY_PHONE]


def incoming_form(**fields: str) -> dict[str, str]:
    form = {
        "CallSid": "CA" + "2" * 32,
        "AccountSid": "AC" + "a" * 32,
        "From": PHONE,
        "To": APP_NUMBER,
        "CallStatus": "ringing",
        "ApiVersion": "2010-04-01",
        "Direction": "inbound",
    }
    form.update(fields)
    return form


def post_incoming(app: Flask, **fields: str):  # type: ignore[no-untyped-def]
    """Twilio's first request for a call to our number, signed for the URL it was sent to."""
    form = incoming_form(**fields)
    base = app.extensions.get("pingan.public_url") or "http://localhost"
    signature = sign(f"{base}/voice/incoming", form)
    return app.test_client().post(
        "/voice/incoming", data=form, headers={"X-Twilio-Signature": signature}
    )
