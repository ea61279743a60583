"""When the carrier misbehaves: each failure has its defined outcome, nobody is lost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain.health import health_report
from ivr.worker.dialer import claim_queued, queue_due_calls
from ivr.worker.jobs import Jobs
from ivr.worker.workers import beat
from storage import CallAttempt, CheckIn, Escalation, Resident
from tests.helpers import add_resident, run_until_settled, script

PHONE = "+8613803710101"


def the_attempts(app):
    with session_scope(app) as session:
        return [
            (a.attempt_no, a.state, a.status, a.deferrals)
            for a in session.scalars(select(CallAttempt).order_by(CallAttempt.id))
        ]


def the_checkin(app) -> CheckIn:
    with session_scope(app) as session:
        return session.scalars(select(CheckIn)).one()


def claim_as(app, clock, worker: str) -> list[int]:
    """What a worker does before it dials: queue the due check-ins and claim their attempts."""
    with session_scope(app) as session:
        queue_due_calls(session, clock.now(), 10)
    with session_scope(app) as session:
        return claim_queued(session, clock.now(), worker, 10)


def test_a_rate_limited_carrier_is_retried_without_counting_an_attempt(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "reject:20429", "reject:500", "answer 1 365# 1 2 9")
    jobs.start_rounds()
    assert jobs.dial() == 0
    assert the_attempts(app) == [(1, "queued", None, 1)]
    clock.advance(5)
    assert jobs.dial() == 0
    assert the_attempts(app) == [(1, "queued", None, 2)]
    clock.advance(10)
    assert jobs.dial() == 1
    carrier.wait_idle()
    assert the_attempts(app) == [(1, "ended", "completed", 2)]
    assert the_checkin(app).status == "complete" and the_checkin(app).attempts == 1


def test_an_unreachable_carrier_is_retried_with_backoff(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "reject:503", "reject:503", "reject:503", "answer 1 365# 1 2 9")
    jobs.start_rounds()
    delays = []
    for _ in range(3):
        before = clock.now()
        jobs.dial()
        with session_scope(app) as session:
            due = session.scalars(select(CallAttempt.due_at)).one()
        delays.append((due - before).total_seconds())
        clock.set(due)
    assert delays == [5, 10, 20]
    run_until_settled(jobs, carrier, clock)
    assert the_checkin(app).status == "complete"


def test_an_invalid_number_stops_dialing_and_asks_staff_to_fix_it(app, jobs, carrier, clock):
    add_resident(app, "郭伟", PHONE)
    script(carrier, PHONE, "reject:21211")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    with session_scope(app) as session:
        resident = session.scalars(select(Resident)).one()
        escalation = session.scalars(select(Escalation)).one()
    assert resident.phone_invalid_at is not None and "21211" in (resident.phone_error or "")
    assert (escalation.reason, escalation.severity) == ("bad_phone", "high")
    assert the_checkin(app).status == "missed"
    assert len(carrier.calls_to(PHONE)) == 0
    clock.set(clock.now().replace(hour=8))  # 16:00 Shanghai: the next round skips them
    jobs.start_rounds()
    with session_scope(app) as session:
        assert session.scalars(select(CheckIn)).all().__len__() == 1


def test_bad_credentials_halt_all_dialing_and_the_worker_reports_unhealthy(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    add_resident(app, "李建国", "+8613803710102")
    script(carrier, PHONE, "reject:20003")
    script(carrier, "+8613803710102", "reject:20003")
    jobs.start_rounds()
    jobs.dial()
    report = health_report(app)
    assert report["status"] == "error" and report["dialing"].startswith("halted")
    assert app.test_client().get("/healthz").status_code == 503
    clock.advance(minutes=30)
    assert jobs.dial() == 0
    with session_scope(app) as session:
        states = session.scalars(select(CallAttempt.state)).all()
    assert states == ["queued", "queued"]  # kept for when dialing resumes; nothing lost


def test_a_call_whose_status_callbacks_are_lost_is_settled_by_the_sweeper(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9 faults=drop_status")
    jobs.start_rounds()
    jobs.dial()
    carrier.wait_idle()
    jobs.sweep()
    assert the_attempts(app)[0][1] == "in_call"  # not long enough to be called stuck
    clock.advance(minutes=20)
    jobs.sweep()
    assert the_attempts(app) == [(1, "ended", "completed", 0)]
    assert the_checkin(app).status == "complete"


def test_a_call_the_carrier_never_heard_of_is_closed_as_failed_and_retried(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    jobs.start_rounds()
    claim_as(app, clock, "other")
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        attempt.state, attempt.call_sid, attempt.placed_at = "placed", "CA" + "0" * 32, clock.now()
    clock.advance(minutes=20)
    jobs.sweep()
    assert the_attempts(app)[0][1:3] == ("ended", "failed")
    assert the_checkin(app).next_attempt_at is not None


def test_a_worker_killed_between_claiming_and_dialing_loses_nothing(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    jobs.start_rounds()
    with session_scope(app) as session:
        beat(session, "dead-worker", clock.now())
    assert claim_as(app, clock, "dead-worker")
    # dead-worker stops here. A live worker must not take its claim while it may be dialing…
    clock.advance(30)
    survivor = Jobs(app, worker="survivor")
    survivor.heartbeat()
    survivor.sweep()
    assert survivor.dial() == 0
    # …but once its heartbeat is stale, the attempt goes back to the queue, uncounted.
    clock.advance(60)
    survivor.heartbeat()
    survivor.sweep()
    assert survivor.dial() == 1
    carrier.wait_idle()
    assert the_attempts(app) == [(1, "ended", "completed", 0)]
    assert len(carrier.calls_to(PHONE)) == 1


def test_duplicate_and_reordered_callbacks_from_the_carrier_change_no_outcome(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(
        carrier,
        PHONE,
        "busy faults=duplicate_status,reorder_status",
        "answer 1 365# 1 2 9 faults=duplicate_status,reorder_status",
    )
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    assert the_attempts(app) == [(1, "ended", "busy", 0), (2, "ended", "completed", 0)]
    assert the_checkin(app).status == "complete"
    assert the_checkin(app).closed_at == clock.now()
    assert isinstance(the_checkin(app).closes_at, dt.datetime)
