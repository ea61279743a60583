"""Marks of late changes to closed days, so that a day's statistics roll-up is never read stale.

The statistics of a closed local day are rolled up once (``ivr.web.dashboard.rollups``); today
is always counted from the raw rows. A change that lands on a day already closed — a check-in
of last night closed after midnight, an escalation acknowledged or resolved the next morning
(its wait counts on the day it opened), an order delivered late, a resident moved while their
call-back check-ins (which have no round) still count in their community — adds a mark for that
day after the flush. Marks are only ever inserted, so a mark can never be lost in a race with a
recount: the recount deletes only the marks it saw, and one committed after it keeps the day
stale. Changes made today to today are free: nothing is written on the webhooks' hot path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import CheckIn, Escalation, Resident, ServiceOrder, StatsDayStale

CHECKIN_INPUTS = ("status", "temperature_c", "reached", "local_date", "round_id", "resident_id")
ESCALATION_TIMES = ("opened_at", "acknowledged_at", "resolved_at")
ORDER_INPUTS = ("local_date", "delivered_at", "community_id")


def keep_stale_marks(
    factory: sessionmaker[Session], now: Callable[[], dt.datetime], tz: dt.tzinfo
) -> None:
    """Sessions from ``factory`` mark the closed days their flushes change (``now``: the app's
    injectable clock; ``tz``: the zone whose days the statistics count)."""

    def after_flush(session: Session, _context: Any) -> None:
        when = now()
        today = when.astimezone(tz).date()
        days = {d for d in _days_touched(session, tz) if d < today}
        if days:
            rows = [{"local_date": d, "marked_at": when} for d in sorted(days)]
            session.connection().execute(insert(StatsDayStale), rows)

    event.listen(factory, "after_flush", after_flush)


def _days_touched(session: Session, tz: dt.tzinfo) -> set[dt.date]:
    days: set[dt.date] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, CheckIn):
            days |= _changed_days(row, CHECKIN_INPUTS, ("local_date",), lambda d: d)
        elif isinstance(row, Escalation):
            inputs = (*ESCALATION_TIMES, "community_id")
            days |= _changed_days(row, inputs, ("opened_at", "resolved_at"), _local(tz))
        elif isinstance(row, ServiceOrder):
            days |= _changed_days(row, ORDER_INPUTS, ("local_date",), lambda d: d)
            days |= _changed_days(row, ORDER_INPUTS, ("delivered_at",), _local(tz))
        elif isinstance(row, Resident) and _changed(row, ("community_id",)):
            days |= _roundless_days(session, row.id)
    return days


def _changed_days(
    row: Any, inputs: Iterable[str], dated: Iterable[str], day_of: Callable[[Any], dt.date]
) -> set[dt.date]:
    """The days, before and after the change, of ``dated`` attributes, if any input changed."""
    state = inspect(row)
    if not (state.pending or state.deleted or state.was_deleted) and not _changed(row, inputs):
        return set()
    values: list[Any] = []
    for name in dated:
        history = state.attrs[name].history
        values += [*history.added, *history.unchanged, *history.deleted]
    return {day_of(v) for v in values if v is not None}


def _changed(row: Any, inputs: Iterable[str]) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in inputs)


def _local(tz: dt.tzinfo) -> Callable[[dt.datetime], dt.date]:
    return lambda when: when.astimezone(tz).date()


def _roundless_days(session: Session, resident_id: int) -> set[dt.date]:
    """A moved resident's check-ins without a round count in their (new) community."""
    query = (
        select(CheckIn.local_date)
        .where(CheckIn.resident_id == resident_id, CheckIn.round_id.is_(None))
        .distinct()
    )
    return set(session.connection().scalars(query))
