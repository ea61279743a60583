"""An urgent escalation nobody acknowledges is rung to the staff on duty, then the supervisor.

Through the real simulated Twilio: scripted staff phones pick up (or not) and press keys on the
real, signed alert-call webhooks; the escalation, its rings and its audit trail are the evidence.
"""

from __future__ import annotations

import threading

import pytest
import requests
from flask import Flask

from ivr.db import session_scope
from ivr.domain import alert_calls
from ivr.domain.escalations import acknowledge, history, resolve
from ivr.worker.jobs import Jobs
from storage import AlertCall, Staff
from tests.dashboard.pages import password_hash, signed_in, text
from tests.helpers import add_resident, script
from tests.ivr.alerting import escalation, open_escalation, staff_member

GRANDMA = "+8613803710103"
ALICE = "+8613903710011"  # 赵红梅, on duty
BOB = "+8613903710012"  # 钱建军, on duty
BOSS = "+8613903710020"  # 孙主任, supervisor
ALERT = "紧急预警：中原社区 张桂兰，体温 39.4 度。 确认请按 1，重听请按星号键。"  # two <Say>s


@pytest.fixture
def urgent(app: Flask) -> int:
    """09:00: 张桂兰 keys 39.4 °C; two staff on duty, one supervisor."""
    staff_member(app, "赵红梅", ALICE)
    staff_member(app, "钱建军", BOB)
    staff_member(app, "孙主任", BOSS, role="supervisor")
    resident = add_resident(app, "张桂兰", GRANDMA)
    return open_escalation(app, resident, temperature="39.4", detail="39.4 °C ≥ 38.5 °C")


def ring_all(jobs: Jobs, carrier, times: int = 6) -> None:
    """Run the alert loop until no ring is left to place (each call runs to its end)."""
    for _ in range(times):
        jobs.call_staff()
        assert carrier.wait_idle(30), "simulated calls did not finish"


def rings(app: Flask, escalation_id: int) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        return [(r.phone, r.outcome) for r in alert_calls.rings(session, escalation_id)]


def trail(app: Flask, escalation_id: int) -> list[tuple[str, str, str | None]]:
    with session_scope(app) as session:
        return [(e.actor, e.action, e.detail) for e in history(session, escalation_id)]


def test_the_duty_staff_presses_1_and_the_escalation_is_acknowledged_by_phone(
    app, jobs, carrier, clock, urgent
) -> None:
    script(carrier, ALICE, "answer 1")
    jobs.call_staff()
    assert carrier.calls_to(ALICE) == []  # the text comes first: no call before 5 minutes

    clock.advance(minutes=5)
    ring_all(jobs, carrier)

    (call,) = carrier.calls_to(ALICE)
    assert ALERT in call.heard_text()
    assert "已确认" in call.heard_text()
    found = escalation(app, urgent)
    assert found.status == "acknowledged" and found.acknowledged_by == "赵红梅"
    assert ("赵红梅", "acknowledged", "via phone") in trail(app, urgent)
    assert rings(app, urgent) == [(ALICE, "acknowledged")]
    assert carrier.calls_to(BOB) == []


def test_a_duty_phone_that_does_not_answer_rings_the_next_person_then_the_supervisor(
    app, jobs, carrier, clock, urgent
) -> None:
    script(carrier, ALICE, "no-answer")
    script(carrier, BOB, "machine")  # voicemail, told apart by machine detection
    script(carrier, BOSS, "answer 1")
    clock.advance(minutes=5)

    ring_all(jobs, carrier)

    assert rings(app, urgent) == [(ALICE, "no-answer"), (BOB, "machine"), (BOSS, "acknowledged")]
    assert escalation(app, urgent).acknowledged_by == "孙主任"
    actions = [action for _, action, _ in trail(app, urgent)]
    assert actions.count("alert_call_queued") == 3 and actions.count("alert_call_ended") == 3


def test_wrong_keys_and_silence_are_asked_again_then_the_next_person_is_rung(
    app, jobs, carrier, clock, urgent
) -> None:
    script(carrier, ALICE, "answer 5 * 9")  # wrong key, repeat, wrong key, then hangs up
    script(carrier, BOB, "answer - - -")  # picks up and says nothing
    script(carrier, BOSS, "no-answer")
    clock.advance(minutes=5)

    ring_all(jobs, carrier)

    (alice,) = carrier.calls_to(ALICE)
    assert alice.heard_text().count("紧急预警") == 4  # first, after 5, after *, after 9
    (bob,) = carrier.calls_to(BOB)
    assert "没有收到确认，我们将通知下一位值班人员" in bob.heard_text()
    assert rings(app, urgent) == [(ALICE, "hung_up"), (BOB, "unconfirmed"), (BOSS, "no-answer"),
                                  ("", "exhausted")]  # fmt: skip
    assert escalation(app, urgent).status == "open"  # nobody took it: it stays on the list
    assert any(a == "alert_call_exhausted" for _, a, _ in trail(app, urgent))


def test_acknowledging_on_the_dashboard_before_the_call_stops_it(
    app, jobs, carrier, clock, urgent
) -> None:
    with session_scope(app) as session:
        acknowledge(session, urgent, "赵红梅", clock.now(), via="dashboard")
    clock.advance(minutes=5)
    ring_all(jobs, carrier)
    assert carrier.calls_to(ALICE) == [] and rings(app, urgent) == []


def test_a_ring_queued_before_an_acknowledgement_is_cancelled_not_placed(
    app, jobs, carrier, clock, urgent
) -> None:
    clock.advance(minutes=5)
    with session_scope(app) as session:
        alert_calls.queue_due(session, app.extensions["pingan.settings"], clock.now())
        acknowledge(session, urgent, "赵红梅", clock.now(), via="sms from staff 1")
    ring_all(jobs, carrier)
    assert carrier.calls_to(ALICE) == [] and rings(app, urgent) == [(ALICE, "cancelled")]


@pytest.mark.parametrize("settings_overrides", [{"alert_call": "off"}])
def test_with_alert_calls_off_nobody_is_rung(app, jobs, carrier, clock, urgent) -> None:
    clock.advance(minutes=30)
    ring_all(jobs, carrier)
    assert carrier.calls_to(ALICE) == [] and rings(app, urgent) == []


def test_two_alert_loops_running_at_once_ring_once(app, server, carrier, clock, urgent) -> None:
    script(carrier, ALICE, "answer 1")
    clock.advance(minutes=5)
    loops = [Jobs(app, worker=f"worker-{n}") for n in range(2)]
    start = threading.Barrier(2)

    def run(loop: Jobs) -> None:
        start.wait()
        loop.call_staff()

    threads = [threading.Thread(target=run, args=(loop,)) for loop in loops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert carrier.wait_idle(30)
    for loop in loops:
        loop.call_staff()
    assert carrier.wait_idle(30)
    assert len(carrier.calls_to(ALICE)) == 1
    assert rings(app, urgent) == [(ALICE, "acknowledged")]


def test_a_ring_whose_end_was_never_heard_is_not_rung_again(
    app, jobs, carrier, clock, urgent
) -> None:
    """A worker that died mid-call: the ring is given up later and the next person is rung."""
    script(carrier, BOB, "answer 1")
    clock.advance(minutes=5)
    with session_scope(app) as session:
        alert_calls.queue_due(session, app.extensions["pingan.settings"], clock.now())
        alert_calls.claim_queued(session, clock.now(), "dead-worker")  # then it died
    ring_all(jobs, carrier)
    assert carrier.calls_to(ALICE) == []
    clock.advance(seconds=alert_calls.STUCK_AFTER_S + 1)
    ring_all(jobs, carrier)
    assert carrier.calls_to(ALICE) == []  # never twice for one reason, even maybe once
    assert rings(app, urgent) == [(ALICE, "lost"), (BOB, "acknowledged")]


def test_a_forged_alert_call_webhook_is_refused_and_changes_nothing(
    app, server, carrier, clock, urgent
) -> None:
    clock.advance(minutes=5)
    with session_scope(app) as session:
        alert_calls.queue_due(session, app.extensions["pingan.settings"], clock.now())
        code = session.query(AlertCall).one().code
    form = {"CallSid": "CA" + "0" * 32, "Digits": "1", "CallStatus": "in-progress"}
    for path in ("answer", "gather?t=0", "status"):
        for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
            url = f"{server}/voice/alert/{code}/{path}"
            assert requests.post(url, data=form, headers=headers, timeout=10).status_code == 403
    assert escalation(app, urgent).status == "open"
    assert rings(app, urgent) == [(ALICE, None)]


def test_the_rings_are_on_the_escalation_page(app, jobs, carrier, clock, urgent) -> None:
    script(carrier, ALICE, "no-answer")
    script(carrier, BOB, "answer 1")
    clock.advance(minutes=5)
    ring_all(jobs, carrier)
    with session_scope(app) as session:
        alice = session.query(Staff).filter_by(phone=ALICE).one()
        alice.password_hash = password_hash()
    page = text(signed_in(app, ALICE).get(f"/escalations/{urgent}"))
    assert page.count("拨打预警电话") == 2 and page.count("预警电话结束") == 2
    assert "no-answer" in page and "钱建军 · 确认" in page


def test_resolving_the_escalation_between_two_rings_stops_the_calls(
    app, jobs, carrier, clock, urgent
) -> None:
    script(carrier, ALICE, "no-answer")
    clock.advance(minutes=5)
    jobs.call_staff()
    assert carrier.wait_idle(30)
    assert rings(app, urgent) == [(ALICE, "no-answer"), (BOB, None)]  # Bob is next
    with session_scope(app) as session:
        resolve(session, urgent, "孙主任", "visited", "上门测温 38.9", clock.now())
    ring_all(jobs, carrier)
    assert carrier.calls_to(BOB) == [] and carrier.calls_to(BOSS) == []
    assert rings(app, urgent) == [(ALICE, "no-answer"), (BOB, "cancelled")]
