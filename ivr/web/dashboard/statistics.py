"""Statistics per community and local day: residents monitored, answer rate, fevers, missed,
escalations opened / resolved and median time to acknowledge, orders opened / delivered.

Check-ins and escalations are counted in SQL. Local days are bounded by local midnights worked
out in Python (time zones and DST are right there, and SQLite has none); the medians of the
waits to acknowledge are taken in Python from numbers the database computed.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ivr.domain.orders import order_stats
from ivr.web.dashboard.queries import in_scope
from storage import CheckIn, Community, Escalation, Resident, Round
from storage.queries import seconds_between


@dataclass
class DayStats:
    community: str
    day: dt.date
    monitored: int = 0
    answered: int = 0
    fevers: int = 0
    missed: int = 0
    escalations_opened: int = 0
    escalations_resolved: int = 0
    median_ack_minutes: float | None = None
    orders_opened: int = 0
    orders_delivered: int = 0

    @property
    def answer_rate(self) -> float | None:
        return round(100 * self.answered / self.monitored, 1) if self.monitored else None


def day_stats(
    session: Session,
    day_from: dt.date,
    day_to: dt.date,
    tz: dt.tzinfo,
    fever_c: Decimal,
    community_id: int | None,
) -> list[DayStats]:
    names = _names(session, community_id)
    table: dict[tuple[str, dt.date], DayStats] = {}

    def row(name: str, day: dt.date) -> DayStats:
        return table.setdefault((name, day), DayStats(name, day))

    for cid, day, monitored, answered, fevers, missed in _checkins(
        session, day_from, day_to, fever_c, community_id
    ):
        stats = row(names[cid], day)
        stats.monitored, stats.answered, stats.fevers, stats.missed = (
            monitored,
            answered,
            fevers,
            missed,
        )
    _add_escalations(session, day_from, day_to, tz, community_id, names, row)
    for order in order_stats(session, day_from, day_to, tz):
        if order["community"] in names.values():
            stats = row(order["community"], dt.date.fromisoformat(order["date"]))
            stats.orders_opened, stats.orders_delivered = order["opened"], order["delivered"]
    return sorted(table.values(), key=lambda s: (s.day, s.community))


def _names(session: Session, community_id: int | None) -> dict[int, str]:
    query = select(Community.id, Community.name)
    if community_id is not None:
        query = query.where(Community.id == community_id)
    return {int(cid): str(name) for cid, name in session.execute(query)}


def _checkins(
    session: Session,
    day_from: dt.date,
    day_to: dt.date,
    fever_c: Decimal,
    community_id: int | None,
) -> list[tuple[int, dt.date, int, int, int, int]]:
    """Residents per community and day: monitored, answered, feverish, missed.

    A resident called in two rounds a day counts once: first one row per resident and day
    (with "any round answered" etc.), then those rows are summed, which is one grouping pass
    instead of a COUNT(DISTINCT …) sort per column. The first pass reads ``checkin`` (and the
    few ``round`` rows) in the order of its (date, resident) index, so it streams without a
    hash table; only its result is joined to ``resident``.

    A resident-day counts in the community whose round called them, so that moving a resident
    leaves the days they were monitored elsewhere where they were (as escalations and orders
    keep their community); check-ins without a round (call-backs) count in the resident's.
    """

    def any_(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.max(case((condition, 1), else_=0))

    per_resident = (
        select(
            CheckIn.resident_id.label("resident_id"),
            CheckIn.local_date.label("day"),
            func.max(Round.community_id).label("round_community"),
            any_(CheckIn.reached.is_(True)).label("answered"),
            any_(CheckIn.temperature_c >= fever_c).label("fever"),
            any_(CheckIn.status == "missed").label("missed"),
        )
        .outerjoin(Round, Round.id == CheckIn.round_id)
        .where(CheckIn.local_date.between(day_from, day_to))
        .group_by(CheckIn.local_date, CheckIn.resident_id)
    )
    if community_id is not None:
        members = select(Resident.id).where(Resident.community_id == community_id)
        rounds = select(Round.id).where(Round.community_id == community_id)
        per_resident = per_resident.where(
            or_(CheckIn.round_id.in_(rounds), CheckIn.resident_id.in_(members))
        )
    r = per_resident.subquery()
    community = func.coalesce(r.c.round_community, Resident.community_id)
    query = (
        select(
            community,
            r.c.day,
            func.count(),
            func.sum(r.c.answered),
            func.sum(r.c.fever),
            func.sum(r.c.missed),
        )
        .select_from(r)
        .join(Resident, Resident.id == r.c.resident_id)
        .group_by(community, r.c.day)
    )
    if community_id is not None:
        query = query.where(community == community_id)
    return [
        (int(c), day, int(n), int(a or 0), int(f or 0), int(m or 0))
        for c, day, n, a, f, m in session.execute(query)
    ]


def _add_escalations(
    session: Session,
    day_from: dt.date,
    day_to: dt.date,
    tz: dt.tzinfo,
    community_id: int | None,
    names: dict[int, str],
    row: Callable[[str, dt.date], DayStats],
) -> None:
    """Opened and resolved per community and local day, counted in SQL; the waits until
    acknowledged come back as plain numbers for the medians (a district opens thousands a day)."""
    days = [day_from + dt.timedelta(days=n) for n in range((day_to - day_from).days + 1)]
    for cid, n, count in _per_local_day(session, Escalation.opened_at, days, tz, community_id):
        row(names[cid], days[n]).escalations_opened = count
    for cid, n, count in _per_local_day(session, Escalation.resolved_at, days, tz, community_id):
        row(names[cid], days[n]).escalations_resolved = count
    day, within = _local_day(Escalation.opened_at, days, tz)
    wait = seconds_between(Escalation.opened_at, Escalation.acknowledged_at)
    query = select(Escalation.community_id, day, wait).where(
        within, Escalation.acknowledged_at.is_not(None)
    )
    waits: dict[tuple[int, int], list[float]] = defaultdict(list)
    for cid, n, seconds in session.execute(in_scope(query, Escalation.community_id, community_id)):
        waits[(cid, n)].append(float(seconds) / 60)
    for (cid, n), minutes in waits.items():
        row(names[cid], days[n]).median_ack_minutes = round(statistics.median(minutes), 1)


def _local_day(
    column: InstrumentedAttribute[Any], days: list[dt.date], tz: dt.tzinfo
) -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """The index in ``days`` of the local day of a UTC ``column``, and "within those days".

    Local midnights are worked out here, where time zones are right (SQLite has none)."""
    midnights = [dt.datetime.combine(d, dt.time(), tz) for d in days]
    midnights.append(dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), tz))
    earlier = [(column < midnight, n) for n, midnight in enumerate(midnights[1:-1])]
    last: ColumnElement[int] = literal(len(days) - 1)
    index = case(*earlier, else_=last) if earlier else last
    return index, and_(column >= midnights[0], column < midnights[-1])


def _per_local_day(
    session: Session,
    column: InstrumentedAttribute[Any],
    days: list[dt.date],
    tz: dt.tzinfo,
    community_id: int | None,
) -> list[tuple[int, int, int]]:
    """(community, index in ``days``, escalations whose ``column`` falls on that day)."""
    day, within = _local_day(column, days, tz)
    found = select(Escalation.community_id, day.label("day")).where(within)
    inner = in_scope(found, Escalation.community_id, community_id).subquery()
    query = select(inner.c.community_id, inner.c.day, func.count()).group_by(
        inner.c.community_id, inner.c.day
    )
    return [(int(cid), int(n), int(count)) for cid, n, count in session.execute(query)]


def daily_totals(rows: list[DayStats]) -> list[DayStats]:
    """All communities together, per day (for the charts)."""
    totals: dict[dt.date, DayStats] = {}
    for r in rows:
        t = totals.setdefault(r.day, DayStats("", r.day))
        t.monitored += r.monitored
        t.answered += r.answered
        t.fevers += r.fevers
        t.missed += r.missed
        t.escalations_opened += r.escalations_opened
        t.escalations_resolved += r.escalations_resolved
        t.orders_opened += r.orders_opened
        t.orders_delivered += r.orders_delivered
    return [totals[d] for d in sorted(totals)]
