"""Whole days (and a whole isolation period) run in seconds on the injectable clock."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from ivr.carriers.simulator import SimulatedCarrier
from ivr.cli import Pingan, cli
from ivr.clock import FixedClock
from ivr.db import session_scope
from ivr.worker.jobs import Jobs
from storage import AuditEntry, CallAttempt, CheckIn, Escalation, Resident, Round
from tests.conftest import SHANGHAI
from tests.helpers import add_resident, day_summaries_and_recomputed, script

pytestmark = pytest.mark.both_carriers

FIRST_DAY = dt.date(2026, 11, 28)

MIXED = {  # phone: (name, behaviour per call, expected status, expected attempts)
    "+8613803710101": ("healthy", ("answer 1 365# 1 2 9",), "complete", 1),
    "+8613803710102": ("busy once", ("busy", "answer 1 366# 1 2 9"), "complete", 2),
    "+8613803710103": ("never home", ("no-answer",), "missed", 3),
    "+8613803710104": ("hangs up", ("answer 1 372# 1 hangup",), "partial", 1),
    "+8613803710105": ("silent", ("answer - -",), "missed", 3),
    "+8613803710106": ("third time", ("no-answer", "failed", "answer 1 368# 1 2 9"), "complete", 3),
}


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


def simulate_day(
    jobs: Jobs,
    carrier: SimulatedCarrier,
    clock: FixedClock,
    day: dt.date,
    until: dt.datetime | None = None,
) -> None:
    """Tick the worker's jobs from 07:00 to 21:00, jumping to the next thing that is due."""
    clock.set(max(clock.now(), local(day, 7)))
    end = until or local(day, 21)
    round_times = [local(day, 9), local(day, 16), local(day, 20)]
    while clock.now() < end:
        jobs.heartbeat()
        jobs.start_rounds()
        jobs.dial()
        assert carrier.wait_idle(30)
        jobs.sweep()
        with session_scope(jobs.app) as session:
            due = session.scalar(
                select(func.min(CheckIn.next_attempt_at)).where(CheckIn.status == "pending")
            )
        if due is not None and due <= clock.now():
            continue  # pacing moved the clock past a retry: dial it before jumping ahead
        upcoming = [t for t in [due, *round_times] if t is not None and t > clock.now()]
        clock.set(min([*upcoming, end]))


def outcomes(app: Flask, day: dt.date) -> dict[str, list[tuple[str, int]]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.phone, CheckIn.status, CheckIn.attempts)
            .join(Resident)
            .where(CheckIn.local_date == day)
            .order_by(CheckIn.id)
        ).all()
    found: dict[str, list[tuple[str, int]]] = {}
    for phone, status, attempts in rows:
        found.setdefault(phone, []).append((status, attempts))
    return found


def setup_mixed(app: Flask, carrier: SimulatedCarrier) -> None:
    for phone, (name, behaviours, _, _) in MIXED.items():
        add_resident(app, name, phone)
        script(carrier, phone, *behaviours)


def expected_day() -> dict[str, list[tuple[str, int]]]:
    # Two rounds (09:00, 16:00); each behaviour script restarts per round only where scripted.
    return {phone: [(status, n)] for phone, (_, _, status, n) in MIXED.items()}


def test_a_simulated_day_ends_every_resident_complete_partial_or_missed(
    app, jobs, carrier, clock
) -> None:
    setup_mixed(app, carrier)
    simulate_day(jobs, carrier, clock, FIRST_DAY, until=local(FIRST_DAY, 15, 59))
    assert outcomes(app, FIRST_DAY) == expected_day()
    with session_scope(app) as session:
        reasons = dict(
            session.execute(select(Resident.name, Escalation.reason).join(Resident)).all()
        )
        placed = session.scalars(select(CallAttempt.placed_at)).all()
    assert reasons == {"never home": "unreachable", "silent": "no_response"}
    assert all(local(FIRST_DAY, 8) <= t < local(FIRST_DAY, 20) for t in placed)


def test_after_two_simulated_days_every_day_summary_matches_the_check_ins(
    app, jobs, carrier, clock
) -> None:
    """The dashboard's colours read the summaries the webhooks and the sweeper keep."""
    setup_mixed(app, carrier)
    second_day = FIRST_DAY + dt.timedelta(days=1)
    simulate_day(jobs, carrier, clock, FIRST_DAY)
    simulate_day(jobs, carrier, clock, second_day, until=local(second_day, 12))
    stored, recomputed = day_summaries_and_recomputed(app)
    assert stored == recomputed
    assert {last for _, day, _, last in stored if day == second_day} == {
        "complete",
        "partial",
        "missed",
    }


def test_both_rounds_of_the_day_call_everyone(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", "+8613803710101")
    simulate_day(jobs, carrier, clock, FIRST_DAY)
    with session_scope(app) as session:
        slots = session.scalars(select(Round.slot).order_by(Round.id)).all()
    assert slots == ["09:00", "16:00"]
    assert outcomes(app, FIRST_DAY) == {"+8613803710101": [("complete", 1), ("complete", 1)]}


def test_a_worker_restart_mid_round_changes_no_outcome(app, carrier, clock, server) -> None:
    setup_mixed(app, carrier)
    first = Jobs(app, worker="before-restart")
    clock.set(local(FIRST_DAY, 9))
    first.heartbeat()
    first.start_rounds()
    first.dial()  # some calls placed, retries scheduled … then this worker is killed
    carrier.wait_idle()
    clock.advance(minutes=2)
    second = Jobs(app, worker="after-restart")
    simulate_day(second, carrier, clock, FIRST_DAY, until=local(FIRST_DAY, 15, 59))
    assert outcomes(app, FIRST_DAY) == expected_day()
    for phone, (_, _, _, attempts) in MIXED.items():
        assert len(carrier.calls_to(phone)) == attempts  # nobody called twice for one attempt


@pytest.mark.parametrize("settings_overrides", [{"round_times": (dt.time(9, 0),)}])
def test_a_14_day_isolation_is_called_every_day_including_the_last(
    app, jobs, carrier, clock, settings_overrides
) -> None:
    add_resident(app, "王秀英", "+8613803710101", isolation_start=FIRST_DAY, isolation_days=14)
    last_day = FIRST_DAY + dt.timedelta(days=13)
    for offset in range(16):
        simulate_day(jobs, carrier, clock, FIRST_DAY + dt.timedelta(days=offset))
    with session_scope(app) as session:
        days = session.scalars(select(CheckIn.local_date).order_by(CheckIn.local_date)).all()
        resident = session.scalars(select(Resident)).one()
        released = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "released")
        ).all()
    assert days == [FIRST_DAY + dt.timedelta(days=n) for n in range(14)]
    assert days[-1] == last_day
    assert resident.released_at is not None
    assert resident.released_at.astimezone(SHANGHAI).date() == last_day + dt.timedelta(days=1)
    assert released == [f"isolation ended {last_day.isoformat()}"]


def test_a_resident_on_hold_or_released_is_not_called(app, jobs, carrier, clock) -> None:
    add_resident(app, "住院的", "+8613803710101")
    add_resident(app, "解除的", "+8613803710102")
    add_resident(app, "在家的", "+8613803710103")
    runner = CliRunner()
    obj = Pingan(app=app)
    held = runner.invoke(
        cli,
        ["residents", "hold", "13803710101", "--until", "2026-11-29", "--reason", "住院"],
        obj=obj,
    )
    released = runner.invoke(cli, ["residents", "release", "138-0371-0102"], obj=obj)
    assert held.exit_code == 0 and released.exit_code == 0, held.output + released.output
    listing = runner.invoke(cli, ["residents", "list"], obj=obj).output
    assert (
        "on hold until 2026-11-29 (住院)" in listing and "released (released by staff)" in listing
    )
    rows = json.loads(runner.invoke(cli, ["residents", "list", "--json"], obj=obj).output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["住院的"]["hold_until"] == "2026-11-29"
    assert by_name["解除的"]["released_at"].endswith("+08:00")
    assert by_name["在家的"]["hold_until"] is None and by_name["在家的"]["released_at"] is None
    simulate_day(jobs, carrier, clock, FIRST_DAY)
    simulate_day(jobs, carrier, clock, FIRST_DAY + dt.timedelta(days=2))
    assert len(carrier.calls_to("+8613803710102")) == 0
    assert len(carrier.calls_to("+8613803710101")) == 2  # back after the hold: both rounds
    assert len(carrier.calls_to("+8613803710103")) == 4
