"""Residents calling the Pingan number on Alibaba Cloud: 智能语音交互呼入, over HTTP.

The platform simulator rings the console's callback URL with ``callin`` (caller, callee), then
plays the call with ``dtmf``/``mute`` callbacks and pushes its receipt; the same call-back
logic as on Twilio (``ivr.domain.inbound``) decides who is calling and what they hear.
"""

from __future__ import annotations

import json

import pytest
import requests
from flask import Flask, jsonify
from sqlalchemy import func, select

from ivr import flow_of, settings_of
from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.simulator.rest import WsgiServer
from ivr.db import session_scope
from ivr.domain.reports import checkin_rows
from ivr.domain.rounds import start_manual_round
from storage import Answer, CallAttempt, CheckIn, Community
from tests.aliyun.conftest import CALLBACK_SECRET, CALLER_ID, KEY_ID, KEY_SECRET
from tests.helpers import add_resident, script

PHONE = "+8613803710101"  # 王秀英's mobile in Zhengzhou
STRANGER = "+8613900000000"


def start_round(app: Flask) -> None:
    settings, now = settings_of(app), app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        for community in session.scalars(select(Community)):
            start_manual_round(session, community, settings, now)


def checkins(app: Flask) -> list[dict[str, object]]:
    with session_scope(app) as session:
        return checkin_rows(session, settings_of(app).tz, flow=flow_of(app))


def state(app: Flask) -> tuple[object, ...]:
    """What a refused request must leave alone: the rows, and the pending retry."""
    with session_scope(app) as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (CallAttempt, CheckIn, Answer)
        )
        retries = tuple(session.scalars(select(CheckIn.next_attempt_at).order_by(CheckIn.id)))
    return counts + retries


def callin(caller: str, callee: str, call_id: str = "100001616500^100001871490") -> dict[str, str]:
    """首次呼入回调 as the platform posts it: national numbers, no dynamic_id yet."""
    content = {"caller": caller, "callee": callee, "orgcallee": callee}
    return {
        "call_id": call_id,
        "timestamp": "1504174341229",
        "content_type": "callin",
        "content": json.dumps(content),
    }


def test_a_resident_missed_in_the_morning_calls_back_and_checks_in(
    app, server, jobs, platform, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(platform, PHONE, "no-answer")
    start_round(app)
    jobs.dial()
    assert platform.wait_idle(30)

    clock.advance(minutes=20)
    call = platform.incoming_call(PHONE, CALLER_ID, "answer 1 365# 1 2 9")

    print(call.transcript())
    assert call.errors == [] and call.direction == "inbound"
    first = call.exchanges[0]
    assert (first.content_type, first.content["caller"]) == ("callin", "13803710101")
    assert first.reply is not None and first.reply["data"]["action"] == "answer"
    assert first.reply["data"]["session_timeout"] == settings_of(app).call_time_limit_s
    assert "中原社区" in call.heard_text()
    (row,) = checkins(app)
    assert row["status"] == "complete" and row["temperature_c"] == 36.5
    assert row["round"] is not None and row["attempts"] == 1  # the call-back is not an attempt
    with session_scope(app) as session:
        inbound = session.scalars(select(CallAttempt).where(CallAttempt.direction == "inbound"))
        (attempt,) = inbound.all()
        assert (attempt.call_sid, attempt.status) == (call.call_id, "completed")  # the receipt
        assert attempt.phone == PHONE  # E.164, as stored
    assert jobs.dial() == 0  # nobody rings her again


def test_an_unknown_caller_learns_nothing(app, server, platform) -> None:
    add_resident(app, "王秀英", PHONE)
    before = checkins(app)

    call = platform.incoming_call(STRANGER, CALLER_ID, "answer 13912345678# 13800000000#")

    heard = call.heard_text()
    assert call.errors == [] and heard.count("对不起，没有找到这个号码。") == 1  # then to staff
    assert "王秀英" not in heard and "中原社区" not in heard  # not whose number, nor where
    assert "工作人员会尽快给您回电话" in heard  # no duty phone: staff will call back
    assert call.exchanges[-1].reply["data"]["action"] == "hangup"  # type: ignore[index]
    assert checkins(app) == before
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert (attempt.direction, attempt.resident_id, attempt.phone) == (
            "inbound",
            None,
            STRANGER,
        )


def test_a_forged_callin_is_refused_and_changes_nothing(app, server, jobs, caplog) -> None:
    add_resident(app, "王秀英", PHONE)
    start_round(app)
    before = state(app)
    forged = callin("13803710101", "037165000000")
    for path in ("wrong-secret-0123456789/callback", f"{CALLBACK_SECRET}x/callback"):
        assert requests.post(f"{server}/aliyun/{path}", data=forged, timeout=10).status_code == 403
    assert state(app) == before  # no call stored, her retry not held
    refusals = [r for r in caplog.records if "without the callback secret; refused" in r.message]
    assert len(refusals) == 2


def test_a_callin_to_a_number_that_is_not_pingans_is_hung_up_and_changes_nothing(
    app, server, platform
) -> None:
    add_resident(app, "王秀英", PHONE)
    start_round(app)
    before = state(app)
    answer = requests.post(
        platform.callback_url, data=callin("13803710101", "037165009999"), timeout=10
    ).json()
    assert answer["data"]["action"] == "hangup" and "action_code_param" not in answer["data"]
    assert state(app) == before


def test_a_repeated_callin_continues_the_same_call(app, server, platform) -> None:
    add_resident(app, "王秀英", PHONE)
    request = callin("13803710101", "037165000000")
    first = requests.post(platform.callback_url, data=request, timeout=10).json()
    again = requests.post(platform.callback_url, data=request, timeout=10).json()
    assert first == again and first["data"]["action"] == "answer"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CallAttempt)) == 1


def test_the_platform_does_not_route_a_call_to_a_number_the_account_did_not_buy(
    app, server, platform
) -> None:
    add_resident(app, "王秀英", PHONE)
    with pytest.raises(ValueError, match="not a number this account bought"):
        platform.incoming_call(PHONE, "+8637165009999", "answer 1 365# 1 2 9")
    assert state(app) == (0, 0, 0)  # nothing was posted


def test_the_platform_hangs_up_on_a_callin_reply_it_does_not_know() -> None:
    """A ``callin`` may only be answered ``answer`` or ``hangup`` (首次呼入回调)."""
    standin = Flask(__name__)
    replied = {"result": "success", "code": 200, "data": {"action": "play", "call_id": "x"}}
    standin.add_url_rule("/cb", "cb", lambda: jsonify(replied), methods=["POST"])
    server = WsgiServer(standin, "127.0.0.1", 0)
    platform = AliyunSimulator(KEY_ID, KEY_SECRET, CALLER_ID)
    platform.callback_url = f"{server.base_url}/cb"
    platform.receipt_url = f"{server.base_url}/cb"
    try:
        call = platform.incoming_call(PHONE, CALLER_ID, "answer 1")
    finally:
        platform.close()
        server.stop()
    assert call.errors[0] == "unknown action 'play'"
    assert len(call.exchanges) == 1  # the call ended there
