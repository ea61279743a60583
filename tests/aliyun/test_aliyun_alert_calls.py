"""The staff alert call through Alibaba Cloud VMS: the same story as on Twilio, over the
platform simulator's SmartCall requests, 智能外呼 callbacks and receipts."""

from __future__ import annotations

import json

import pytest
import requests
from flask import Flask

from ivr.carriers.aliyun.actions import Cursor
from ivr.db import session_scope
from ivr.domain import alert_calls
from ivr.domain.escalations import history
from storage import AlertCall
from tests.aliyun.conftest import CALLBACK_SECRET
from tests.helpers import add_resident, script
from tests.ivr.alerting import escalation, open_escalation, staff_member

GRANDMA = "+8613803710103"
ALICE = "+8613903710011"
BOB = "+8613903710012"
BOSS = "+8613903710020"


@pytest.fixture
def urgent(app: Flask) -> int:
    staff_member(app, "赵红梅", ALICE)
    staff_member(app, "钱建军", BOB)
    staff_member(app, "孙主任", BOSS, role="supervisor")
    resident = add_resident(app, "张桂兰", GRANDMA)
    return open_escalation(app, resident, temperature="39.4", detail="39.4 °C ≥ 38.5 °C")


def ring_all(jobs, platform, times: int = 6) -> None:
    for _ in range(times):
        jobs.call_staff()
        assert platform.wait_idle(30), "simulated calls did not finish"


def rings(app: Flask, escalation_id: int) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        return [(r.phone, r.outcome) for r in alert_calls.rings(session, escalation_id)]


def test_the_duty_staff_presses_1_on_a_vms_call_and_it_is_acknowledged_by_phone(
    app, jobs, platform, clock, urgent
) -> None:
    script(platform, ALICE, "answer 1")
    clock.advance(minutes=5)
    ring_all(jobs, platform)

    (call,) = platform.calls_to(ALICE)
    print(call.transcript())
    assert call.errors == [] and call.receipt and call.receipt["status_code"] == "200000"
    assert (
        "紧急预警：中原社区 张桂兰，体温 39.4 度。确认请按 1，重听请按星号键" in call.heard_text()
    )
    found = escalation(app, urgent)
    assert found.status == "acknowledged" and found.acknowledged_by == "赵红梅"
    with session_scope(app) as session:
        trail = [(e.actor, e.action, e.detail) for e in history(session, urgent)]
    assert ("赵红梅", "acknowledged", "via phone") in trail
    assert rings(app, urgent) == [(ALICE, "acknowledged")]


def test_no_answer_and_a_voicemail_on_vms_ring_the_next_person_then_the_supervisor(
    app, jobs, platform, clock, urgent
) -> None:
    script(platform, ALICE, "no-answer")
    script(platform, BOB, "machine")  # VMS cannot tell a voicemail: it hears silence
    script(platform, BOSS, "answer 5 1")
    clock.advance(minutes=5)
    ring_all(jobs, platform)

    assert rings(app, urgent) == [
        (ALICE, "no-answer"),
        (BOB, "unconfirmed"),
        (BOSS, "acknowledged"),
    ]
    assert all(c.errors == [] for p in (ALICE, BOB, BOSS) for c in platform.calls_to(p))
    assert escalation(app, urgent).acknowledged_by == "孙主任"


def test_a_forged_callback_for_an_alert_call_is_refused_and_changes_nothing(
    app, server, clock, urgent
) -> None:
    clock.advance(minutes=5)
    with session_scope(app) as session:
        alert_calls.queue_due(session, app.extensions["pingan.settings"], clock.now())
        code = session.query(AlertCall).one().code
    forged = {
        "call_id": "100001616500^100001871490",
        "content_type": "dtmf",
        "content": json.dumps({"dtmf": "1", "dynamic_id": str(Cursor(code, "0", 1))}),
    }
    url = f"{server}/aliyun/wrong-secret-0123456789/callback"
    assert requests.post(url, data=forged, timeout=10).status_code == 403
    receipt = [{"call_id": forged["call_id"], "out_id": code[:15], "status_code": "200003"}]
    url = f"{server}/aliyun/wrong-secret-0123456789/receipt"
    assert requests.post(url, json=receipt, timeout=10).status_code == 403
    assert escalation(app, urgent).status == "open"
    assert rings(app, urgent) == [(ALICE, None)]
    assert CALLBACK_SECRET not in url
