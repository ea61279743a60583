"""One live round per community: a manual round on top of a running one must not call anyone
twice, nor close the running round's waiting check-ins as missed (issue 12)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ivr.db import session_scope
from ivr.worker.dialer import claim_queued, queue_checkin_now
from storage import CheckIn, Escalation, Resident, Round
from tests.helpers import add_resident, script
from tests.ivr.test_cli import run

FINE, BUSY = "answer 1 365# 1 2 9", "busy"
DONE, WAITING, IN_FLIGHT, NEW = (f"+86138037101{n:02d}" for n in range(4))


def checkins_by_phone(app) -> dict[str, list[tuple[str, str, int]]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.phone, Round.slot, CheckIn.status, CheckIn.attempts)
            .join(Resident, Resident.id == CheckIn.resident_id)
            .join(Round, Round.id == CheckIn.round_id)
            .order_by(CheckIn.id)
        ).all()
    found: dict[str, list[tuple[str, str, int]]] = {}
    for phone, slot, status, attempts in rows:
        found.setdefault(phone, []).append((slot, status, attempts))
    return found


def running_0900_round(app, jobs, carrier, clock) -> None:
    """The 09:00 round: one resident done, one busy and waiting for a retry, one whose call
    another worker has claimed and is placing right now."""
    for name, phone, behaviour in (
        ("张桂兰", DONE, FINE),
        ("李建国", WAITING, BUSY),
        ("王秀英", IN_FLIGHT, FINE),
    ):
        add_resident(app, name, phone)
        script(carrier, phone, behaviour, FINE)
    jobs.start_rounds()
    with session_scope(app) as session:
        checkin = session.scalars(
            select(CheckIn).join(Resident).where(Resident.phone == IN_FLIGHT)
        ).one()
        queue_checkin_now(session, checkin, clock.now())
    with session_scope(app) as session:
        assert claim_queued(session, clock.now(), "other-worker", 10)
    jobs.dial()
    assert carrier.wait_idle(30)


def test_round_start_during_a_running_round_refuses_saying_which_round_and_how_far(
    app, jobs, carrier, clock
) -> None:
    running_0900_round(app, jobs, carrier, clock)
    before = checkins_by_phone(app)
    result = run(app, "round", "start")
    assert result.exit_code != 0
    assert result.output.strip() == (
        "中原社区: round 09:00 is still running (1 of 3 reached); "
        "use --force to call the residents not yet reached"
    )
    assert checkins_by_phone(app) == before
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Round)) == 1


def test_a_forced_round_calls_only_the_residents_not_yet_reached(app, jobs, carrier, clock) -> None:
    running_0900_round(app, jobs, carrier, clock)
    add_resident(app, "新来的", NEW)  # registered after the 09:00 round started
    script(carrier, NEW, FINE)
    clock.advance(minutes=1)
    result = run(app, "round", "start", "--force")
    assert result.exit_code == 0, result.output
    forced = re.search(r"round (manual-\d{6}) started, 2 residents to call", result.output)
    assert forced, result.output
    jobs.dial()
    assert carrier.wait_idle(30)

    calls = {phone: len(carrier.calls_to(phone)) for phone in (DONE, WAITING, IN_FLIGHT, NEW)}
    assert calls == {DONE: 1, WAITING: 2, IN_FLIGHT: 0, NEW: 1}
    assert checkins_by_phone(app) == {
        DONE: [("09:00", "complete", 1)],
        WAITING: [(forced[1], "complete", 2)],  # its busy try kept, not closed as missed
        IN_FLIGHT: [("09:00", "pending", 1)],  # left to the call in flight, retries intact
        NEW: [(forced[1], "complete", 1)],
    }
    with session_scope(app) as session:
        in_flight = session.scalars(
            select(CheckIn).join(Resident).where(Resident.phone == IN_FLIGHT)
        ).one()
        assert in_flight.max_attempts == 3
        assert session.scalar(select(func.count()).select_from(Escalation)) == 0


def test_a_round_started_after_the_last_one_finished_calls_everyone_as_before(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "张桂兰", DONE)
    script(carrier, DONE, FINE)
    jobs.start_rounds()
    jobs.dial()
    assert carrier.wait_idle(30)
    clock.advance(minutes=1)
    result = run(app, "round", "start")
    assert result.exit_code == 0, result.output
    assert "1 residents to call" in result.output
