"""Small builders and drivers shared by the tests (not fixtures: plain functions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from ivr.carriers.simulator import Behaviour, SimulatedCarrier
from ivr.clock import FixedClock
from ivr.db import engine as engine_of
from ivr.db import session_scope
from ivr.web.dashboard.rollups import stats_rows
from ivr.web.dashboard.statistics import day_stats
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Community, Resident
from storage.day_summary import refresh_all


def add_community(app: Flask, name: str = "中原社区", **fields: Any) -> int:
    with session_scope(app) as session:
        found = session.scalars(select(Community).where(Community.name == name)).first()
        if found is None:
            found = Community(name=name, created_at=_now(app), **fields)
            session.add(found)
        else:
            for key, value in fields.items():
                setattr(found, key, value)
        session.flush()
        return found.id


def add_resident(
    app: Flask, name: str, phone: str, community: str = "中原社区", **fields: Any
) -> int:
    community_id = add_community(app, community)
    now = _now(app)
    with session_scope(app) as session:
        resident = Resident(
            name=name,
            phone=phone,
            community_id=community_id,
            created_at=now,
            updated_at=now,
            **fields,
        )
        session.add(resident)
        session.flush()
        return resident.id


def script(carrier: SimulatedCarrier, phone: str, *specs: str) -> None:
    carrier.script(phone, *(Behaviour.parse(s) for s in specs))


def _now(app: Flask) -> dt.datetime:
    clock = app.extensions["pingan.clock"]
    now: dt.datetime = clock.now()
    return now


def call_round(app: Flask, jobs: Jobs, carrier: SimulatedCarrier, clock: FixedClock) -> None:
    """Start a round now in every community and run it until every check-in is closed."""
    from ivr.domain.rounds import start_manual_round

    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        for community in session.scalars(select(Community)):
            start_manual_round(session, community, settings, clock.now())
    run_until_settled(jobs, carrier, clock)


def run_until_settled(
    jobs: Jobs, carrier: SimulatedCarrier, clock: FixedClock, max_rounds: int = 60
) -> None:
    """Dial, let the simulated calls finish, sweep; jump the clock to the next retry; repeat."""
    for _ in range(max_rounds):
        jobs.dial()
        assert carrier.wait_idle(30), "simulated calls did not finish"
        jobs.sweep()
        with session_scope(jobs.app) as session:
            live = session.scalar(
                select(func.count()).select_from(CallAttempt).where(CallAttempt.state != "ended")
            )
            next_due = session.scalar(
                select(func.min(CheckIn.next_attempt_at)).where(CheckIn.status == "pending")
            )
            pending = session.scalar(
                select(func.count()).select_from(CheckIn).where(CheckIn.status == "pending")
            )
        if not pending and not live:
            return
        if next_due is not None and next_due > clock.now() and not live:
            clock.set(next_due)
    raise AssertionError("the round did not settle")


def day_summaries_and_recomputed(app: Flask) -> tuple[list[Any], list[Any]]:
    """Every resident's stored day summary, and the same recomputed from the check-ins."""
    query = select(
        Resident.id, Resident.day_date, Resident.day_max_temperature_c, Resident.day_last_closed
    ).order_by(Resident.id)
    with session_scope(app) as session:
        stored = [tuple(row) for row in session.execute(query)]
    with engine_of(app).begin() as connection:
        refresh_all(connection)
        recomputed = [tuple(row) for row in connection.execute(query)]
    return stored, recomputed


def statistics_and_recounted(app: Flask, first: dt.date, last: dt.date) -> tuple[Any, Any]:
    """The statistics page's rows (roll-ups where fresh) and the same counted from the raw rows."""
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        shown = stats_rows(session, first, last, settings.tz, settings.fever_c, None)
        recounted = day_stats(session, first, last, settings.tz, settings.fever_c, None)
    return shown, recounted
