"""A worker started late runs the slot it missed: nobody who already checked in during that
slot's half of the day is called for it again (issue 17.5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from ivr import flow_of
from ivr.db import session_scope
from ivr.domain.checkins import record_on_behalf
from ivr.domain.rounds import slot_half
from ivr.domain.schedule import schedule_for
from storage import CheckIn, Community, Resident, Round
from tests.conftest import SHANGHAI
from tests.helpers import add_resident, script
from tests.ivr.test_cli import run

DAY = dt.date(2026, 11, 28)
MORNING, JUST_NOW, NOBODY = "+8613803710101", "+8613803710102", "+8613803710103"


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute, second), SHANGHAI)


def called_in(app, slot: str) -> list[str]:
    with session_scope(app) as session:
        return sorted(
            session.scalars(
                select(Resident.phone)
                .join(CheckIn, CheckIn.resident_id == Resident.id)
                .join(Round, Round.id == CheckIn.round_id)
                .where(Round.slot == slot)
            )
        )


def record_at(app, clock, phone: str, when: dt.datetime) -> None:
    clock.set(when)
    with session_scope(app) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        record_on_behalf(
            session,
            resident,
            Decimal("36.6"),
            False,
            [],
            "staff:1",
            when,
            app.extensions["pingan.settings"],
            flow_of(app),
        )


def test_a_worker_started_late_does_not_call_who_checked_in_minutes_before(
    app, jobs, carrier, clock
) -> None:
    for name, phone in (("早上的", MORNING), ("刚打完的", JUST_NOW), ("没打的", NOBODY)):
        add_resident(app, name, phone)
        script(carrier, phone, "answer 1 365# 1 2 9")
    # The worker is down all day; staff call two residents by hand meanwhile.
    clock.set(at(9, 5))
    assert run(app, "call", MORNING).exit_code == 0
    clock.set(at(17, 27))
    assert run(app, "call", JUST_NOW).exit_code == 0
    clock.set(at(17, 30))
    assert jobs.start_rounds() == 1  # only the 16:00 round, late
    # The morning check-in belongs to the 09:00 half; the one 3 minutes ago to this one.
    assert called_in(app, "16:00") == [MORNING, NOBODY]


def test_the_half_of_the_day_starts_midway_between_the_slots(app, jobs, clock) -> None:
    before, on_the_boundary = "+8613803710104", "+8613803710105"
    add_resident(app, "之前的", before)
    add_resident(app, "正好的", on_the_boundary)
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        schedule = schedule_for(community, app.extensions["pingan.settings"])
        midnight = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), SHANGHAI)
        assert slot_half(schedule, DAY, 1) == (at(12, 30), midnight)
        assert slot_half(schedule, DAY, 0) == (at(0, 0), at(12, 30))
    record_at(app, clock, before, at(12, 29, 59))
    record_at(app, clock, on_the_boundary, at(12, 30))
    clock.set(at(16, 10))  # ten minutes late: a catch-up round
    assert jobs.start_rounds() == 1
    assert called_in(app, "16:00") == [before]


def test_a_round_started_on_time_calls_everyone_as_before(app, jobs, clock) -> None:
    phone = "+8613803710106"
    add_resident(app, "下午的", phone)
    record_at(app, clock, phone, at(15, 0))
    clock.set(at(16, 0, 15))  # the scheduler's next tick
    assert jobs.start_rounds() == 1
    assert called_in(app, "16:00") == [phone]
