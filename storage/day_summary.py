"""Each resident's summary of their latest day of check-ins, kept on the resident row.

The dashboard colours residents by today's check-ins (a fever, and how the last closed one
ended). Working that out from ``checkin`` means aggregating the whole district's day, 100,000
rows and more, for every page filtered by colour; with the summary on ``resident`` one scan of
that table answers instead.

The summary is a cache of ``checkin``, never written by hand: after any flush that changed a
check-in's status or temperature, that resident's summary of that day is recomputed from the
table in SQL. Recomputing (rather than adding to it) makes redelivered webhooks, retries and
out-of-order closes harmless; an older day never overwrites a newer one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Update, event, func, inspect, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import CheckIn, Resident

CLOSED = ("missed", "partial", "complete")


def keep_day_summaries(factory: sessionmaker[Session]) -> None:
    """Sessions from ``factory`` refresh the summaries their check-in changes affect."""
    event.listen(factory, "after_flush", _after_flush)


def refresh(resident_id: int, day: dt.date) -> Update:
    """Recompute one resident's summary of ``day``, unless it already holds a later day."""
    return (
        update(Resident)
        .where(
            Resident.id == resident_id,
            or_(Resident.day_date.is_(None), Resident.day_date <= day),
        )
        .values(_summary_of(day))
    )


def refresh_all(connection: Connection) -> None:
    """Recompute every resident's summary from their latest day (bulk loads, repairs)."""
    latest = (
        select(func.max(CheckIn.local_date))
        .where(CheckIn.resident_id == Resident.id)
        .scalar_subquery()
    )
    connection.execute(update(Resident).values(day_date=latest))
    connection.execute(update(Resident).values(_summary_of(Resident.day_date)))


def _summary_of(day: Any) -> dict[str, Any]:
    """The SET clause for ``Resident`` in the enclosing UPDATE; ``day`` a date or a column."""
    days_rows = (CheckIn.resident_id == Resident.id, CheckIn.local_date == day)
    last_closed = (
        select(CheckIn.status)
        .where(*days_rows, CheckIn.status.in_(CLOSED))
        .order_by(CheckIn.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    hottest = select(func.max(CheckIn.temperature_c)).where(*days_rows).scalar_subquery()
    return {"day_date": day, "day_max_temperature_c": hottest, "day_last_closed": last_closed}


def _after_flush(session: Session, _context: Any) -> None:
    # On the connection, not through the ORM: the flush is still under way, and no loaded
    # ``Resident`` needs the new values (the dashboard reads them in SQL).
    connection = session.connection()
    for resident_id, day in sorted(_touched(session)):  # a fixed order: no lock-order deadlock
        connection.execute(refresh(resident_id, day))


def _touched(session: Session) -> set[tuple[int, dt.date]]:
    touched = set()
    for row in session.new:
        if isinstance(row, CheckIn) and (row.status != "pending" or row.temperature_c is not None):
            touched.add((row.resident_id, row.local_date))
    for row in session.dirty:
        if isinstance(row, CheckIn) and _summary_inputs_changed(row):
            touched.add((row.resident_id, row.local_date))
    return touched


def _summary_inputs_changed(row: CheckIn) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in ("status", "temperature_c"))
