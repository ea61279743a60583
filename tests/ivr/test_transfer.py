"""Pressing 0 reaches a person: the staff on duty first, then the community's duty phone, then
the deployment's; each callee must press 1, so a voicemail never swallows the request.

Through the real simulated carrier: scripted staff phones pick up (or not), hear the screen and
press keys; the rows and the call's timeline are the evidence.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain.staff import add_shift
from storage import CallEvent, Community, Staff
from tests.helpers import add_community, add_resident, call_round, script
from tests.ivr.alerting import staff_member
from tests.ivr.test_checkin_call_end_to_end import checkin, escalations

GRANDMA = "+8613803710103"
ALICE = "+8613903710011"  # 赵红梅, on duty
BOB = "+8613903710012"  # 钱建军, on duty
COMMUNITY_DUTY = "+8613903710001"
DEPLOYMENT_DUTY = "+8613903719999"
PRESSES_0 = "answer 1 366# 1 2 0"


@pytest.fixture
def staffed(app: Flask) -> None:
    add_community(app, "中原社区", duty_phone=COMMUNITY_DUTY)
    staff_member(app, "赵红梅", ALICE)
    staff_member(app, "钱建军", BOB)
    add_resident(app, "张桂兰", GRANDMA)


def dialed(carrier) -> list[str]:
    (call,) = carrier.calls_to(GRANDMA)
    return [d.number for d in call.dials]


def timeline(app: Flask) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        rows = session.scalars(select(CallEvent).where(CallEvent.kind == "dial"))
        return [(e.name, e.detail) for e in rows]


def test_pressing_0_rings_the_staff_on_duty_first(app, jobs, carrier, clock, staffed) -> None:
    script(carrier, GRANDMA, PRESSES_0)
    script(carrier, ALICE, "answer 1")

    call_round(app, jobs, carrier, clock)

    assert dialed(carrier) == [ALICE]
    (leg,) = carrier.calls_to(ALICE)
    assert "平安热线：居民 张桂兰 请求通话，接听请按 1" in leg.heard_text()
    assert leg.direction == "outbound-dial"
    row = checkin(app)
    assert row["callback_requested"] is False and row["status"] == "complete"
    assert escalations(app) == {}
    assert timeline(app)[:2] == [("ringing", f"leg 1: {ALICE}"), ("accepted", "leg 1: 1")]


def test_a_voicemail_leg_is_skipped_and_the_next_staff_member_takes_the_call(
    app, jobs, carrier, clock, staffed
) -> None:
    script(carrier, GRANDMA, PRESSES_0)
    script(carrier, ALICE, "machine")
    script(carrier, BOB, "answer 1")

    call_round(app, jobs, carrier, clock)

    assert dialed(carrier) == [ALICE, BOB]
    assert checkin(app)["callback_requested"] is False
    names = [name for name, _ in timeline(app)]
    assert names[:4] == ["ringing", "declined", "completed", "ringing"]
    assert "accepted" in names


@pytest.mark.parametrize("settings_overrides", [{"duty_phone": DEPLOYMENT_DUTY}])
def test_when_nobody_accepts_the_resident_hears_staff_will_call_back(
    app, jobs, carrier, clock, staffed
) -> None:
    script(carrier, GRANDMA, PRESSES_0)
    script(carrier, ALICE, "no-answer")
    script(carrier, BOB, "answer -")  # picks up, presses nothing
    script(carrier, COMMUNITY_DUTY, "busy")
    script(carrier, DEPLOYMENT_DUTY, "machine")

    call_round(app, jobs, carrier, clock)

    assert dialed(carrier) == [ALICE, BOB, COMMUNITY_DUTY, DEPLOYMENT_DUTY]
    (call,) = carrier.calls_to(GRANDMA)
    assert "工作人员会尽快给您回电话" in call.heard_text()
    assert checkin(app)["callback_requested"] is True
    assert escalations(app) == {"callback_requested": "high"}
    assert ("nobody_accepted", "leg 4") in timeline(app)


def test_only_the_staff_on_the_roster_right_now_are_rung(
    app, jobs, carrier, clock, staffed
) -> None:
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        alice, bob = session.scalars(select(Staff).order_by(Staff.id)).all()
        add_shift(session, alice, community, None, "18:00", "24:00")  # 09:00 now: off duty
        add_shift(session, bob, community, None, "08:00", "18:00")
    script(carrier, GRANDMA, PRESSES_0)
    script(carrier, BOB, "no-answer")
    script(carrier, COMMUNITY_DUTY, "answer 1")

    call_round(app, jobs, carrier, clock)

    assert dialed(carrier) == [BOB, COMMUNITY_DUTY]
    assert carrier.calls_to(ALICE) == []
    assert checkin(app)["callback_requested"] is False
