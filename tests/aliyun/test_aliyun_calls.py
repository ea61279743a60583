"""Residents in mainland China checked in through Alibaba Cloud VMS, end to end over HTTP.

The official SDK places each call at the local platform simulator, which posts the 智能外呼
callbacks and receipts to the real app; the database rows are the evidence.
"""

from __future__ import annotations

import json

import requests
from sqlalchemy import func, select

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.domain.reports import checkin_rows, escalation_rows
from storage import Answer, CallAttempt, CallEvent
from tests.aliyun.conftest import CALLBACK_SECRET
from tests.helpers import add_resident, call_round, script

PHONE = "+8613803710101"  # a mobile in Zhengzhou


def checkin(app) -> dict[str, object]:
    with session_scope(app) as session:
        rows = checkin_rows(session, settings_of(app).tz, flow=flow_of(app))
    assert len(rows) == 1
    return rows[0]


def test_a_resident_in_zhengzhou_completes_a_check_in_through_alibaba_cloud(
    app, jobs, platform, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(platform, PHONE, "answer 1 372# 1 2 1 9")
    call_round(app, jobs, platform, clock)
    row = checkin(app)
    assert row["status"] == "complete"
    assert row["temperature_c"] == 37.2 and row["symptoms"] is False
    assert row["needs"] == ["groceries"]
    (call,) = platform.calls_to(PHONE)
    assert call.errors == [] and call.receipt and call.receipt["status_code"] == "200000"
    assert call.shown == "037165000000"  # CalledShowNumber: the number bought, 0 + area code
    print(call.transcript())
    assert "三十七点二度" in call.heard_text()
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert attempt.call_sid == call.call_id and attempt.status == "completed"
        assert call.out_id == attempt.code[:15]


def test_a_forged_callback_is_refused_and_changes_nothing(app, server, platform, caplog) -> None:
    add_resident(app, "李建国", PHONE)
    before = _rows(app)
    forged = {
        "call_id": "100001616500^100001871490",
        "timestamp": "1504174341229",
        "content_type": "dtmf",
        "content": json.dumps({"dtmf": "1", "dynamic_id": "x" * 24 + ".0..."}),
    }
    for path in ("wrong-secret-0123456789/callback", "callback", f"{CALLBACK_SECRET}x/callback"):
        assert requests.post(f"{server}/aliyun/{path}", data=forged, timeout=10).status_code in (
            403,
            404,
            405,
        )
    receipt = [{"call_id": forged["call_id"], "status_code": "200000", "duration": "30"}]
    forged_receipt = f"{server}/aliyun/not-the-secret-000000/receipt"
    assert requests.post(forged_receipt, json=receipt, timeout=10).status_code == 403
    assert _rows(app) == before
    refusals = [r for r in caplog.records if "without the callback secret; refused" in r.message]
    assert len(refusals) == 3  # the two wrong secrets and the forged receipt


def test_a_call_to_a_number_outside_mainland_china_is_refused_as_the_platform_refuses_it(
    app, jobs, platform, clock
) -> None:
    add_resident(app, "陈美玲", "+85291234567")  # Hong Kong: VMS calls mainland numbers only
    call_round(app, jobs, platform, clock)
    assert platform.calls_to("+85291234567") == []
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert attempt.outcome == "bad_number"
        assert attempt.carrier_error and "isv.MOBILE_NUMBER_ILLEGAL" in attempt.carrier_error
        reasons = {r["reason"] for r in escalation_rows(session, settings_of(app).tz)}
    assert "bad_phone" in reasons


def _rows(app) -> tuple[int, int, int]:
    with session_scope(app) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (CallAttempt, CallEvent, Answer)
        )


def test_a_resident_who_says_nothing_at_first_is_asked_again_and_checks_in(
    app, jobs, platform, clock
) -> None:
    add_resident(app, "赵德明", PHONE)
    script(platform, PHONE, "answer - 1 365# 1 2 9")
    call_round(app, jobs, platform, clock)
    row = checkin(app)
    assert row["status"] == "complete" and row["temperature_c"] == 36.5
    (call,) = platform.calls_to(PHONE)
    assert call.errors == [] and [e.content_type for e in call.exchanges][:2] == ["mute", "mute"]


def test_a_busy_line_is_called_again_later(app, jobs, platform, clock) -> None:
    add_resident(app, "孙丽华", PHONE)
    script(platform, PHONE, "busy", "answer 1 366# 1 2 9")
    call_round(app, jobs, platform, clock)
    assert checkin(app)["status"] == "complete"
    first, second = platform.calls_to(PHONE)
    assert first.receipt and first.receipt["status_code"] == "200002"
    assert second.receipt and second.receipt["status_code"] == "200000"
    with session_scope(app) as session:
        statuses = [a.status for a in session.scalars(select(CallAttempt).order_by(CallAttempt.id))]
    assert statuses == ["busy", "completed"]


def test_a_callback_replayed_after_the_call_changes_nothing(app, jobs, platform, clock) -> None:
    add_resident(app, "周建华", PHONE)
    script(platform, PHONE, "answer 1 372# 1 2 9")
    call_round(app, jobs, platform, clock)
    (call,) = platform.calls_to(PHONE)
    before = _rows(app), checkin(app)
    symptoms = next(
        e for e in call.exchanges if "不舒服" in json.dumps(e.reply, ensure_ascii=False)
    )
    url = platform.callback_url
    replayed = {
        "call_id": call.call_id,
        "timestamp": "1504174341229",
        "content_type": "dtmf",
        "content": json.dumps({"dtmf": "1", "dynamic_id": symptoms.reply["data"]["dynamic_id"]}),
    }
    answer = requests.post(url, data=replayed, timeout=10).json()
    assert answer["data"]["action"] == "hangup"
    assert (_rows(app), checkin(app)) == before


def test_a_receipt_that_beats_the_dialers_save_still_settles_its_call(app, server, clock) -> None:
    from ivr.domain.rounds import start_manual_round
    from ivr.worker.dialer import queue_checkin_now
    from storage import CheckIn, Community

    add_resident(app, "钱玉兰", PHONE)
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        start_manual_round(session, community, settings_of(app), clock.now())
    with session_scope(app) as session:
        checkin_row = session.scalars(select(CheckIn)).one()
        attempt = queue_checkin_now(session, checkin_row, clock.now())
        assert attempt is not None
        attempt.state = "dialing"  # SmartCall answered; its CallId not stored yet
        code = attempt.code
    receipt = [
        {"call_id": "318^927", "out_id": code[:15], "status_code": "200003", "duration": "0"}
    ]
    url = f"{server}/aliyun/{CALLBACK_SECRET}/receipt"
    assert requests.post(url, json=receipt, timeout=10).json() == {"code": 0, "msg": "接收成功"}
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert (attempt.call_sid, attempt.status, attempt.state) == (
            "318^927",
            "no-answer",
            "ended",
        )


def test_a_voicemail_is_heard_as_a_silent_resident_and_the_resident_is_called_again(
    app, jobs, platform, clock
) -> None:
    add_resident(app, "郑桂芳", PHONE)
    script(platform, PHONE, "machine", "answer 1 365# 1 2 9")
    call_round(app, jobs, platform, clock)
    voicemail, *_ = platform.calls_to(PHONE)
    assert voicemail.errors == [] and voicemail.receipt
    assert len(platform.calls_to(PHONE)) == 2 and checkin(app)["status"] == "complete"
    assert {e.content_type for e in voicemail.exchanges} == {"mute"}
    with session_scope(app) as session:
        first = session.scalars(select(CallAttempt).order_by(CallAttempt.id)).first()
        assert first is not None and first.outcome == "no_response"
        assert (
            session.scalar(
                select(func.count()).select_from(Answer).where(Answer.attempt_id == first.id)
            )
            == 0
        )


def test_hostile_callbacks_never_crash_a_call_nor_store_anything(app, server, caplog) -> None:
    add_resident(app, "冯秀兰", PHONE)
    before = _rows(app)
    url = f"{server}/aliyun/{CALLBACK_SECRET}/callback"
    hostile = [
        {},
        {"call_id": "1^2", "content_type": "dtmf", "content": "{not json"},
        {"call_id": "1^2", "content_type": "dtmf", "content": json.dumps(["a", "list"])},
        {"call_id": "1^2", "content_type": "mute", "content": json.dumps({"dynamic_id": 7})},
        {
            "call_id": "1^2" * 100,
            "content_type": "dtmf" * 50,
            "content": json.dumps({"dtmf": "<script>\x00", "dynamic_id": "a" * 30 + ".9.1..."}),
        },
    ]
    for params in hostile:
        answered = requests.post(url, data=params, timeout=10)
        assert answered.status_code == 200
        assert answered.json()["data"]["action"] == "hangup"
    garbage = requests.post(
        f"{server}/aliyun/{CALLBACK_SECRET}/receipt", data="[{", timeout=10
    ).json()
    assert garbage == {"code": 0, "msg": "接收成功"}
    assert _rows(app) == before


def test_a_failure_while_serving_a_callback_is_an_apology_and_a_receipt_is_pushed_again(
    app, monkeypatch
) -> None:
    from ivr.carriers.aliyun import callbacks

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(callbacks.calls, "load_attempt", broken)
    monkeypatch.setattr(callbacks, "_receipt_attempt", broken)
    client = app.test_client()
    dynamic_id = "a" * 24 + ".3..."
    params = {
        "call_id": "1^2",
        "content_type": "mute",
        "content": json.dumps({"dynamic_id": dynamic_id}),
    }
    answered = client.post(f"/aliyun/{CALLBACK_SECRET}/callback", data=params)
    assert answered.status_code == 200
    data = answered.get_json()["data"]
    assert data["action"] == "hangup" and "稍后" in json.loads(data["action_code_param"])["tts"]
    receipt = [{"call_id": "1^2", "status_code": "200000"}]
    assert client.post(f"/aliyun/{CALLBACK_SECRET}/receipt", json=receipt).status_code == 503
