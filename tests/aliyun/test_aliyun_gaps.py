"""What VMS does not do as Twilio does, and Pingan's answer (docs/carriers.md, section 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.carriers.aliyun.carrier import DETAIL_SYNC_S, AliyunCarrier
from ivr.carriers.telephony import CarrierError, ErrorKind
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from storage import Answer, CallAttempt, CheckIn, Community
from tests.aliyun.conftest import KEY_ID, KEY_SECRET
from tests.helpers import add_community, add_resident, call_round, script

PHONE = "+8613803710101"
DUTY = "+8613903710001"


def start_round(app, clock) -> None:
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        for community in session.scalars(select(Community)):
            start_manual_round(session, community, settings, clock.now())


def test_a_call_whose_receipts_were_lost_is_settled_from_its_call_detail(
    app, jobs, platform, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(platform, PHONE, "answer 1 365# 1 2 9")
    platform.lose_receipts = True  # VMS gave up pushing it (three retries)
    start_round(app, clock)
    jobs.dial()
    assert platform.wait_idle(30)
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert attempt.state != "ended" and attempt.status is None
    clock.advance(minutes=5)  # quiet for longer than a line rings: the sweeper looks it up
    jobs.sweep()
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert (attempt.state, attempt.status) == ("ended", "completed")
        assert session.scalars(select(CheckIn)).one().status == "complete"
        keys = {a.key for a in session.scalars(select(Answer))}
    assert {"temperature_c", "symptoms"} <= keys  # the answers were kept as they came


def test_a_call_the_platform_has_no_detail_for_is_asked_again_then_closed_as_unknown(
    platform, clock
) -> None:
    vms = AliyunCarrier(KEY_ID, KEY_SECRET, platform.url, clock=clock)
    assert vms.fetch_call("100001616500^100001871490").status == "in-progress"  # not synced yet
    clock.advance(seconds=DETAIL_SYNC_S)
    with pytest.raises(CarrierError) as unknown:
        vms.fetch_call("100001616500^100001871490")
    assert unknown.value.kind == ErrorKind.REJECTED  # the sweeper closes it as failed


def test_pressing_0_is_a_blind_transfer_to_the_duty_phone_and_staff_still_call_back(
    app, jobs, platform, clock
) -> None:
    add_community(app, "中原社区", duty_phone=DUTY)
    add_resident(app, "周丽华", PHONE)
    script(platform, PHONE, "answer 1 366# 1 2 0")
    call_round(app, jobs, platform, clock)
    (call,) = platform.calls_to(PHONE)
    assert [d.number for d in call.dials] == [DUTY] and call.errors == []
    transfer = call.exchanges[-1].reply
    assert transfer is not None and transfer["data"]["action"] == "transfer"
    assert transfer["data"]["number"] == DUTY[3:]  # national form, as every VMS number
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        answers = {a.key: a.value for a in session.scalars(select(Answer))}
    # VMS reports no transfer result: the request stays on the list until staff close it
    assert checkin.status in ("complete", "partial") and answers.get("callback_requested")


def test_the_platform_refuses_a_call_detail_query_signed_with_another_key(platform) -> None:
    stranger = AliyunCarrier("LTAI-someone-else", KEY_SECRET, platform.url)
    with pytest.raises(CarrierError) as refused:
        stranger.fetch_call("100001616500^100001871490")
    assert refused.value.kind == ErrorKind.AUTH
