"""Daily rounds: the right residents are called at the right times, once per slot, inside the
calling window; failed attempts are retried; whoever cannot be reached is escalated."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from ivr.carriers.simulator import SimulatedCarrier
from ivr.cli import Pingan, cli
from ivr.db import session_scope, sessions
from ivr.domain import holds
from ivr.domain.rounds import start_due_rounds
from ivr.domain.settle import close_missed
from ivr.worker.dialer import queue_due_calls
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Escalation, Resident, Round
from tests.conftest import SHANGHAI
from tests.helpers import add_community, add_resident, run_until_settled, script
from tests.ivr.alerting import open_escalation

pytestmark = pytest.mark.both_carriers

DAY = dt.date(2026, 11, 28)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


def rounds(app: Flask) -> list[tuple[str, str, int]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(Round.slot, Round.local_date, func.count(CheckIn.id))
            .outerjoin(CheckIn, CheckIn.round_id == Round.id)
            .group_by(Round.id)
            .order_by(Round.id)
        ).all()
    return [(slot, day.isoformat(), n) for slot, day, n in rows]


def checkins(app: Flask) -> list[tuple[str, str, int]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.name, CheckIn.status, CheckIn.attempts)
            .join(Resident)
            .order_by(CheckIn.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def call_times(carrier: SimulatedCarrier, app: Flask) -> list[dt.datetime]:
    with session_scope(app) as session:
        return list(
            session.scalars(
                select(CallAttempt.placed_at)
                .where(CallAttempt.placed_at.is_not(None))
                .order_by(CallAttempt.placed_at)
            )
        )


def test_a_round_starts_at_its_time_and_only_once(app, jobs, clock) -> None:
    add_resident(app, "王秀英", "+8613803710101")
    clock.set(at(8, 59))
    assert jobs.start_rounds() == 0
    clock.set(at(9, 0))
    assert jobs.start_rounds() == 1
    assert jobs.start_rounds() == 0
    clock.set(at(9, 30))
    assert jobs.start_rounds() == 0
    assert rounds(app) == [("09:00", "2026-11-28", 1)]


def test_two_workers_starting_the_same_slot_start_it_once(app, clock) -> None:
    for n in range(5):
        add_resident(app, f"居民{n}", f"+86138037101{n:02d}")
    clock.set(at(9, 0))
    settings = app.extensions["pingan.settings"]
    results: list[int] = []

    def start() -> None:
        with sessions(app).begin() as session:
            results.append(len(start_due_rounds(session, settings, clock.now())))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert rounds(app) == [("09:00", "2026-11-28", 5)]


def test_a_round_missed_while_the_worker_was_down_starts_when_it_returns(app, jobs, clock) -> None:
    add_resident(app, "王秀英", "+8613803710101")
    clock.set(at(17, 30))  # down from 08:00 to 17:30: only the 16:00 round is still useful
    assert jobs.start_rounds() == 1
    assert rounds(app) == [("16:00", "2026-11-28", 1)]
    clock.set(at(20, 30))
    assert jobs.start_rounds() == 0


def test_no_round_starts_outside_the_calling_window(app, jobs, clock) -> None:
    add_community(app, round_times="07:00,21:00")
    add_resident(app, "王秀英", "+8613803710101")
    clock.set(at(7, 30))
    assert jobs.start_rounds() == 0
    clock.set(at(8, 0))
    assert jobs.start_rounds() == 1  # the 07:00 round, once the window opens at 08:00
    clock.set(at(21, 0))
    assert jobs.start_rounds() == 0
    assert rounds(app) == [("07:00", "2026-11-28", 1)]


def test_a_resident_is_called_at_their_preferred_time(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", "+8613803710101", preferred_times="10:30,17:00")
    clock.set(at(9, 0))
    jobs.start_rounds()
    assert jobs.dial() == 0
    clock.set(at(10, 30))
    assert jobs.dial() == 1
    carrier.wait_idle()
    assert call_times(carrier, app)[0] == at(10, 30)


def test_a_preferred_time_outside_the_window_is_ignored_not_left_uncalled(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", "+8613803710101", preferred_times="21:30")
    clock.set(at(9, 0))
    jobs.start_rounds()
    assert jobs.dial() == 1
    carrier.wait_idle()
    assert call_times(carrier, app)[0] == at(9, 0)


def test_nobody_is_called_outside_the_window_and_late_retries_close_as_missed(
    app, jobs, carrier, clock
) -> None:
    add_community(app, round_times="19:30")
    add_resident(app, "刘德华", "+8613803710104")
    script(carrier, "+8613803710104", "no-answer")
    clock.set(at(19, 30))
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    # 19:30 and 19:40 fit the window; a third try at 19:50 would too; 20:00 would not.
    placed = call_times(carrier, app)
    assert placed == [at(19, 30), at(19, 40), at(19, 50)]
    assert all(at(8) <= t < at(20) for t in placed)
    assert checkins(app) == [("刘德华", "missed", 3)]


def test_a_retry_that_would_fall_after_the_window_is_not_made(app, jobs, carrier, clock) -> None:
    add_community(app, round_times="19:45")
    add_resident(app, "刘德华", "+8613803710104")
    script(carrier, "+8613803710104", "busy")
    clock.set(at(19, 45))
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    assert call_times(carrier, app) == [at(19, 45), at(19, 55)]
    assert checkins(app) == [("刘德华", "missed", 2)]


def test_busy_then_answering_completes_on_the_second_attempt(app, jobs, carrier, clock) -> None:
    add_resident(app, "陈玉珍", "+8613803710105")
    script(carrier, "+8613803710105", "busy", "answer 1 365# 1 2 9")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    assert checkins(app) == [("陈玉珍", "complete", 2)]
    placed = call_times(carrier, app)
    assert placed[1] - placed[0] == dt.timedelta(minutes=10)


def test_every_kind_of_failed_attempt_is_retried_up_to_the_limit(app, jobs, carrier, clock) -> None:
    behaviours = {
        "+8613803710201": "busy",
        "+8613803710202": "no-answer",
        "+8613803710203": "failed",
        "+8613803710204": "canceled",
        "+8613803710205": "answer 1 999# 999# 999# 2 9",  # answered, never a valid temperature
        "+8613803710206": "answer hangup",
    }
    for n, (phone, behaviour) in enumerate(behaviours.items()):
        add_resident(app, f"居民{n}", phone)
        script(carrier, phone, behaviour)
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    assert [c[1:] for c in checkins(app)] == [("missed", 3)] * 6
    with session_scope(app) as session:
        reasons = session.scalars(select(Escalation.reason).order_by(Escalation.resident_id))
        assert list(reasons) == ["unreachable"] * 4 + ["no_response"] * 2


def test_the_escalation_for_a_missed_resident_names_every_attempt(app, jobs, carrier, clock):
    add_resident(app, "刘德华", "+8613803710104")
    script(carrier, "+8613803710104", "busy", "no-answer", "failed")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    with session_scope(app) as session:
        escalation = session.scalars(select(Escalation)).one()
    assert escalation.detail == (
        "attempt 1 09:00: busy; attempt 2 09:10: no-answer; attempt 3 09:20: failed"
    )


def test_a_resident_living_alone_who_is_missed_is_urgent(app, jobs, carrier, clock) -> None:
    add_resident(app, "马秀兰", "+8613803710305", lives_alone=True)
    script(carrier, "+8613803710305", "no-answer")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    with session_scope(app) as session:
        assert session.scalars(select(Escalation.severity)).one() == "urgent"


def test_a_second_missed_round_in_a_row_raises_the_escalation_to_urgent(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "刘德华", "+8613803710104")
    script(carrier, "+8613803710104", "no-answer")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    clock.set(at(16, 0))
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    with session_scope(app) as session:
        escalation = session.scalars(select(Escalation)).one()
    assert (escalation.reason, escalation.severity, escalation.events) == (
        "unreachable",
        "urgent",
        2,
    )


def test_residents_not_dialled_when_the_next_round_starts_move_into_it_without_an_escalation(
    app, jobs, carrier, clock
) -> None:
    # A large community can still be dialling the 09:00 round at 16:00: nobody tried, so
    # nothing was missed, and nobody may be escalated (or made "urgent" next time) for it.
    for name, phone in (("王秀英", "+8613803710101"), ("李建国", "+8613803710102")):
        add_resident(app, name, phone)
        script(carrier, phone, "answer 1 365# 1 2 9")
    clock.set(at(9, 0))
    assert jobs.start_rounds() == 1
    clock.set(at(16, 0))
    assert jobs.start_rounds() == 1

    assert rounds(app) == [("09:00", "2026-11-28", 0), ("16:00", "2026-11-28", 2)]
    run_until_settled(jobs, carrier, clock)
    assert sorted(checkins(app)) == [("李建国", "complete", 1), ("王秀英", "complete", 1)]
    with session_scope(app) as session:
        assert session.scalars(select(Escalation)).all() == []


def busy_on_the_first_call(app, jobs, carrier, clock, name: str, phone: str, when) -> None:
    """A round starts at ``when``; the resident's line is busy; a retry is now scheduled."""
    add_resident(app, name, phone)
    script(carrier, phone, "busy", "answer 1 365# 1 2 9")
    clock.set(when)
    jobs.start_rounds()
    jobs.dial()
    assert carrier.wait_idle(30)


def test_a_resident_tried_and_waiting_for_a_retry_when_the_next_round_starts_is_missed(
    app, jobs, carrier, clock
) -> None:
    busy_on_the_first_call(app, jobs, carrier, clock, "刘德华", "+8613803710104", at(15, 55))
    clock.set(at(16, 0))
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    assert checkins(app) == [("刘德华", "missed", 1), ("刘德华", "complete", 1)]
    with session_scope(app) as session:
        assert session.scalars(select(Escalation.reason)).all() == ["unreachable"]


def test_a_resident_taken_to_hospital_mid_round_is_not_called_again_nor_escalated(
    app, jobs, carrier, clock
) -> None:
    busy_on_the_first_call(app, jobs, carrier, clock, "住院的", "+8613803710101", at(9, 0))
    held = CliRunner().invoke(
        cli,
        ["residents", "hold", "13803710101", "--until", "2026-12-05", "--reason", "住院"],
        obj=Pingan(app=app),
    )
    assert held.exit_code == 0, held.output

    run_until_settled(jobs, carrier, clock)
    assert len(carrier.calls_to("+8613803710101")) == 1
    assert checkins(app) == [("住院的", "missed", 1)]
    with session_scope(app) as session:
        assert session.scalars(select(Escalation)).all() == []


def test_a_resident_released_during_a_call_gets_no_retry_when_it_fails(
    app, jobs, carrier, clock
) -> None:
    resident_id = add_resident(app, "解除的", "+8613803710102")
    script(carrier, "+8613803710102", "no-answer", "answer 1 365# 1 2 9")
    clock.set(at(9, 0))
    jobs.start_rounds()
    with session_scope(app) as session:  # as if the dialer had just claimed it
        checkin = session.scalars(select(CheckIn)).one()
        checkin.next_attempt_at, checkin.attempts = None, 1
        resident = session.get(Resident, resident_id)
        settings = app.extensions["pingan.settings"]
        holds.release(session, resident, "回老家", "cli", settings, clock.now())
        assert checkin.max_attempts == 1 and checkin.status == "pending"  # no retry left
        # The call fails: with no retry left, settling it closes the check-in.
        close_missed(session, checkin, app.extensions["pingan.settings"], clock.now())
        assert checkin.status == "missed"
        assert session.scalars(select(Escalation)).all() == []


def test_a_call_queued_for_the_dialer_is_withdrawn_when_the_resident_is_put_on_hold(
    app, jobs, carrier, clock
) -> None:
    resident_id = add_resident(app, "住院的", "+8613803710101")
    clock.set(at(9, 0))
    jobs.start_rounds()
    with session_scope(app) as session:  # queued, not yet claimed by any dialer
        assert queue_due_calls(session, clock.now(), 10) == 1
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        settings = app.extensions["pingan.settings"]
        holds.hold(session, resident, DAY, "住院", "cli", settings, clock.now())

    assert jobs.dial() == 0 and carrier.calls_to("+8613803710101") == []
    assert checkins(app) == [("住院的", "missed", 1)]
    with session_scope(app) as session:
        assert session.scalars(select(CallAttempt.outcome)).all() == ["not_placed"]
        assert session.scalars(select(Escalation)).all() == []


def test_a_resident_released_before_being_dialled_is_withdrawn_from_the_round(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "解除的", "+8613803710102")
    add_resident(app, "在家的", "+8613803710103")
    clock.set(at(9, 0))
    jobs.start_rounds()
    released = CliRunner().invoke(cli, ["residents", "release", "13803710102"], obj=Pingan(app=app))
    assert released.exit_code == 0, released.output

    run_until_settled(jobs, carrier, clock)
    assert carrier.calls_to("+8613803710102") == []
    assert checkins(app) == [("在家的", "complete", 1)]
    assert rounds(app) == [("09:00", "2026-11-28", 1)]


def first_called_in_the_round(app: Flask, jobs: Jobs, carrier: SimulatedCarrier) -> str:
    jobs.start_rounds()
    jobs.dial()
    carrier.wait_idle()
    with session_scope(app) as session:
        return session.scalars(
            select(CallAttempt.phone).order_by(CallAttempt.placed_at, CallAttempt.id).limit(1)
        ).one()


def test_residents_living_alone_are_called_first(app, jobs, carrier, clock) -> None:
    add_resident(app, "甲", "+8613803710401")
    add_resident(app, "乙", "+8613803710402", lives_alone=True)
    add_resident(app, "丙", "+8613803710403")
    assert first_called_in_the_round(app, jobs, carrier) == "+8613803710402"


def test_urgent_cases_are_called_first_in_the_next_round(app, jobs, carrier, clock) -> None:
    add_resident(app, "甲", "+8613803710401")
    feverish = add_resident(app, "乙", "+8613803710402")
    add_resident(app, "丙", "+8613803710403")
    open_escalation(app, feverish)  # high_fever, urgent, still open from the morning
    clock.set(at(16, 0))
    assert first_called_in_the_round(app, jobs, carrier) == "+8613803710402"


def test_calls_are_paced_at_the_configured_rate(app, jobs, carrier, clock) -> None:
    for n in range(6):
        add_resident(app, f"居民{n}", f"+86138037105{n:02d}")
    jobs.start_rounds()
    jobs.dial()
    carrier.wait_idle()
    placed = call_times(carrier, app)
    gaps = {round((b - a).total_seconds(), 3) for a, b in itertools.pairwise(placed)}
    assert len(placed) == 6 and gaps == {1.005}  # 1 per second, with a 0.5% safety margin


def test_no_more_calls_than_the_limit_are_in_flight(app, jobs, carrier, clock) -> None:
    app.extensions["pingan.settings"] = app.extensions["pingan.settings"].replace(
        max_concurrent_calls=2
    )
    jobs = Jobs(app, worker="limited")
    for n in range(5):
        add_resident(app, f"居民{n}", f"+86138037106{n:02d}")
        script(carrier, f"+86138037106{n:02d}", "answer 1 365# 1 2 9")
    jobs.start_rounds()
    assert jobs.dial() == 2  # five are due, two may be in flight
    carrier.wait_idle()
    assert jobs.dial() == 2
    carrier.wait_idle()
    assert jobs.dial() == 1
    carrier.wait_idle()
    assert [c[1] for c in checkins(app)] == ["complete"] * 5
