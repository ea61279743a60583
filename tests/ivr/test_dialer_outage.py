"""The database fails just after the dialer has claimed its calls: nobody may be stranded.

The outage is injected into the dial run's own statements (its pacing permits, then the release
of its claims), deterministically, while the carrier's webhooks keep working: residents whose
calls were claimed but not placed must still be called, once, and nobody twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from ivr.db import engine as engine_of
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.jobs import Jobs
from ivr.worker.sweeper import claim_expires_s
from storage import CallAttempt, CheckIn, Community, Escalation, Resident
from tests.helpers import add_resident, run_until_settled, script

RESIDENTS = 4
FINE = "answer 1 365# 1 2 9"


class DialRunOutage:
    """The database goes away for the dial run's thread once ``after_permits`` permits were
    recorded: its next pacing statement fails, and so does every later one while ``down``
    (a blip ends after that first failure, so the release of the claims gets through)."""

    def __init__(self, app: Any, after_permits: int, blip: bool) -> None:
        self.engine = engine_of(app)
        self.thread = threading.current_thread()
        self.after_permits, self.blip = after_permits, blip
        self.recorded = 0
        self.down = False
        self.failed = 0
        event.listen(self.engine, "before_cursor_execute", self._before)

    def end(self) -> None:
        self.down = False
        event.remove(self.engine, "before_cursor_execute", self._before)

    def _before(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if threading.current_thread() is not self.thread:
            return
        pacing = "dial_pace" in repr(parameters)
        if pacing and not self.down and self.failed == 0 and self.recorded >= self.after_permits:
            self.down = True
        if self.down:
            self.failed += 1
            self.down = not self.blip
            raise OperationalError(statement, parameters, ConnectionError("connection lost"))
        if pacing and statement.lstrip().upper().startswith("UPDATE"):
            self.recorded += 1


def start_round_for(app, clock, phones: list[str]) -> None:
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        only = list(session.scalars(select(Resident.id).where(Resident.phone.in_(phones))))
        started = start_manual_round(
            session, community, app.extensions["pingan.settings"], clock.now(), only=only
        )
        assert started is not None


def stranded(app) -> int:
    """Check-ins still open with no retry due: nothing would ever call them again."""
    with session_scope(app) as session:
        query = select(func.count()).select_from(CheckIn).where(CheckIn.status != "complete")
        return int(session.scalar(query) or 0)


@pytest.mark.parametrize(
    ("run", "after_permits", "blip"),
    [(run, run % RESIDENTS, run % 2 == 0) for run in range(10)],
)
def test_residents_whose_calls_were_claimed_during_a_database_outage_are_still_called_once(
    app, jobs, carrier, clock, caplog, run, after_permits, blip
) -> None:
    caplog.set_level(logging.INFO)
    phones = [f"+86138037{run:02d}{n:03d}" for n in range(RESIDENTS)]
    for n, phone in enumerate(phones):
        add_resident(app, f"居民{n}", phone)
        script(carrier, phone, FINE)
    start_round_for(app, clock, phones)
    jobs.heartbeat()
    outage = DialRunOutage(app, after_permits, blip)
    jobs.run("dial")  # the outage hits its permits: the run is skipped, as in the worker
    outage.end()
    assert outage.failed
    assert carrier.wait_idle(30)
    placed = sum(len(carrier.calls_to(p)) for p in phones)
    assert placed == after_permits

    # The worker is alive and well: its stranded claims must not wait for it to die.
    clock.advance(claim_expires_s(app.extensions["pingan.settings"]) + 1)
    jobs.heartbeat()
    jobs.sweep()
    run_until_settled(jobs, carrier, clock)

    assert stranded(app) == 0
    assert {p: len(carrier.calls_to(p)) for p in phones} == {p: 1 for p in phones}
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Escalation)) == 0
        states = set(session.scalars(select(CallAttempt.state)))
    assert states == {"ended"}


def test_a_claim_stranded_until_the_window_closed_ends_without_an_escalation(
    app, jobs, carrier, clock, caplog
) -> None:
    caplog.set_level(logging.INFO)
    phone = "+8613803710199"
    add_resident(app, "王秀英", phone)
    script(carrier, phone, FINE)
    start_round_for(app, clock, [phone])
    jobs.heartbeat()
    outage = DialRunOutage(app, 0, blip=False)  # the release fails too
    jobs.run("dial")
    outage.end()
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        assert [a.state for a in checkin.attempts_list] == ["dialing"]
        clock.set(checkin.closes_at)
    jobs.heartbeat()
    jobs.sweep()
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        assert checkin.status == "missed"
        assert [(a.state, a.outcome) for a in checkin.attempts_list] == [("ended", "not_placed")]
        assert session.scalar(select(func.count()).select_from(Escalation)) == 0
    assert not carrier.calls_to(phone)
    assert any("never placed" in r.message and r.levelno >= logging.ERROR for r in caplog.records)


def test_a_dialer_that_waited_past_the_bound_never_places_a_claim_taken_back(
    app, jobs, carrier, clock
) -> None:
    phone = "+8613803710198"
    add_resident(app, "王秀英", phone)
    script(carrier, phone, FINE)
    start_round_for(app, clock, [phone])
    jobs.heartbeat()
    other = Jobs(app, worker="other-worker")
    real_try = jobs.dialer.pacer._try
    waited = []

    def slow_try(*args):
        if not waited:  # this worker waits a long time for its first permit…
            waited.append(True)
            clock.advance(claim_expires_s(app.extensions["pingan.settings"]) + 1)
            other.heartbeat()
            other.sweep()  # …so its claim is taken back and placed by another worker
            assert other.dial() == 1
        return real_try(*args)

    jobs.dialer.pacer._try = slow_try  # type: ignore[method-assign]
    assert jobs.dial() == 0
    assert carrier.wait_idle(30)
    assert len(carrier.calls_to(phone)) == 1
