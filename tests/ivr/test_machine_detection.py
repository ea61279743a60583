"""Answering machines: with detection on they get a short message and the call is tried again;
with detection off (the default, since it adds seconds of silence) they hear the call."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.db import session_scope
from storage import CallAttempt
from tests.helpers import add_community, add_resident, script
from tests.ivr.test_checkin_call_end_to_end import call_round, checkin, escalations

PHONE = "+8613803710101"
HOTLINE_SPOKEN = "零，三，七，一，六，五，一，二，三，四，五，六"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"machine_detection": True}


def outcomes(app: Flask) -> list[tuple[str | None, str | None]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(CallAttempt.answered_by, CallAttempt.outcome).order_by(CallAttempt.id)
        )
        return [(a, o) for a, o in rows]


def test_a_machine_hears_the_hotline_and_the_resident_is_called_again(
    app, jobs, carrier, clock
) -> None:
    add_community(app, "中原社区", hotline="+8637165123456")
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "machine", "answer 1 365# 1 2 9")

    call_round(app, jobs, carrier, clock)

    first, second = carrier.calls_to(PHONE)
    assert second.answered_by == "human"
    assert first.answered_by == "machine_end_beep"  # after the greeting, so the message is kept
    assert first.heard_text() == (
        f"这里是中原社区的每日健康回访电话。我们稍后会再给您打电话。如需帮助，"
        f"请拨打社区电话{HOTLINE_SPOKEN}。再见。"
    )
    assert outcomes(app) == [("machine_end_beep", "machine"), ("human", "finished")]
    row = checkin(app)
    assert row["status"] == "complete" and row["attempts"] == 2


def test_a_resident_only_ever_reached_by_voicemail_is_unreachable(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "machine answered_by=machine_end_beep")

    call_round(app, jobs, carrier, clock)

    row = checkin(app)
    assert row["status"] == "missed" and row["attempts"] == 3
    assert escalations(app) == {"unreachable": "high"}  # a machine is not a person reached


def test_an_undecided_detection_is_treated_as_a_person(app, jobs, carrier, clock) -> None:
    add_resident(app, "张桂兰", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9 answered_by=unknown")

    call_round(app, jobs, carrier, clock)

    assert checkin(app)["status"] == "complete"


@pytest.mark.parametrize("settings_overrides", [{}])
def test_with_detection_off_a_machine_hears_the_questions_and_no_one_keys(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "吴国强", PHONE)
    script(carrier, PHONE, "machine")

    call_round(app, jobs, carrier, clock)

    records = carrier.calls_to(PHONE)
    assert [r.answered_by for r in records] == [None, None, None]  # detection was not asked for
    assert "每日健康回访电话" in records[0].heard_text()
    assert "我们没有收到您的按键" in records[0].heard_text()
    row = checkin(app)
    assert row["status"] == "missed" and row["attempts"] == 3
    assert escalations(app) == {"no_response": "high"}


@pytest.mark.parametrize(
    "settings_overrides", [{"machine_detection": True, "duty_phone": "+8637165999999"}]
)
def test_a_community_without_its_own_hotline_gives_the_deployments_duty_phone(
    app, jobs, carrier, clock
) -> None:
    add_community(app, "中原社区")  # no hotline, no duty phone of its own
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "machine", "answer 1 365# 1 2 9")

    call_round(app, jobs, carrier, clock)

    first, _ = carrier.calls_to(PHONE)
    assert "请拨打社区电话零，三，七，一，六，五，九，九，九，九，九，九。" in first.heard_text()
