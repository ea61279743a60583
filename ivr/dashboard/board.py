"""Today's status of every resident as a colour, worked out in SQL (五色动态监管图).

===========  ==================================================================================
colour       when (the first that applies)
===========  ==================================================================================
red          an unresolved urgent escalation
orange       any other unresolved escalation, a fever today, or today's last closed check-in
             was missed
grey         not being called today: released, on hold, outside the isolation period, bad phone
yellow       today's last closed check-in was partial
green        today's last closed check-in was complete
pending      nothing settled yet today (the round has not reached them)
===========  ==================================================================================

Red and orange come before grey on purpose: an escalation still needs a person even when the
calls have stopped.

Today's check-ins are read from each resident's day summary (``storage.day_summary``: the
hottest temperature and the last closed status of their latest day), so no query aggregates the
district's check-ins. Escalations are still read from their own table, in two spellings of the
same rule for two access patterns:

* ``colour`` is correlated per resident: a page of 50 residents costs 50 small index lookups,
  whatever the size of the district. The list pages residents by address first (an index scan
  on ``resident`` alone) and only then works out the colours of those 50.
* ``Facts`` joins each resident to the unresolved escalations grouped per resident, a derived
  table the database builds once per query: that is what counting every colour, or listing
  only one colour, needs.

A test keeps both spellings in agreement, and another keeps the summaries true to the check-ins.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Subquery, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from ivr.dashboard.queries import AnySelect, in_scope
from storage import Community, Escalation, Resident
from storage.queries import monitored_on

COLOURS = ("red", "orange", "yellow", "green", "grey", "pending")
_BUILDING = re.compile(r"^(.*?\d+\s*(?:号楼|號樓|栋|棟|幢|座))")


def _rule(
    urgent: ColumnElement[bool], unresolved: ColumnElement[bool], today: dt.date, fever_c: Decimal
) -> ColumnElement[str]:
    on_today = Resident.day_date == today

    def last_was(status: str) -> ColumnElement[bool]:
        return and_(on_today, Resident.day_last_closed == status)

    fever = and_(on_today, Resident.day_max_temperature_c >= fever_c)
    return case(
        (urgent, "red"),
        (or_(unresolved, fever, last_was("missed")), "orange"),
        (not_(monitored_on(today)), "grey"),
        (last_was("partial"), "yellow"),
        (last_was("complete"), "green"),
        else_="pending",
    )


def colour(today: dt.date, fever_c: Decimal) -> ColumnElement[str]:
    """The colour of ``Resident`` in the enclosing query, by correlated lookups."""
    open_ = and_(Escalation.resident_id == Resident.id, Escalation.status != "resolved")
    urgent = exists().where(open_, Escalation.severity == "urgent")
    return _rule(urgent, exists().where(open_), today, fever_c)


@dataclass(frozen=True)
class Facts:
    """Unresolved escalations as a derived table, joined to ``Resident`` by ``join``."""

    escalations: Subquery
    today: dt.date
    fever_c: Decimal

    @classmethod
    def of(cls, today: dt.date, fever_c: Decimal, community_id: int | None = None) -> Facts:
        """``community_id`` limits the derived table to one community's escalations."""
        urgent = func.max(case((Escalation.severity == "urgent", 1), else_=0))
        escalations = (
            in_scope(
                select(Escalation.resident_id, urgent.label("urgent")),
                Escalation.community_id,
                community_id,
            )
            .where(Escalation.status != "resolved")
            .group_by(Escalation.resident_id)
            .subquery("open_escalations")
        )
        return cls(escalations, today, fever_c)

    def join(self, query: AnySelect) -> AnySelect:
        return query.outerjoin(self.escalations, self.escalations.c.resident_id == Resident.id)

    @property
    def colour(self) -> ColumnElement[str]:
        return _rule(
            self.escalations.c.urgent == 1,
            self.escalations.c.resident_id.is_not(None),
            self.today,
            self.fever_c,
        )


def resident_ids(
    community_id: int | None,
    today: dt.date,
    fever_c: Decimal,
    *,
    community: int | None = None,
    building: str | None = None,
    wanted: str | None = None,
    search: str | None = None,
) -> AnySelect:
    """Resident ids in list order (by address, so a building's people are together)."""
    query = select(Resident.id).order_by(Resident.address, Resident.name, Resident.id)
    query = in_scope(query, Resident.community_id, community_id)
    if community is not None:
        query = query.where(Resident.community_id == community)
    if building:
        query = query.where(Resident.address.startswith(building, autoescape=True))
    if search:
        query = query.where(
            or_(
                Resident.name.contains(search, autoescape=True),
                Resident.phone.contains(search, autoescape=True),
            )
        )
    if wanted == "red":  # red is exactly "has an unresolved urgent escalation": a small set
        urgent = select(Escalation.resident_id).where(
            Escalation.status != "resolved", Escalation.severity == "urgent"
        )
        query = query.where(Resident.id.in_(urgent))
    elif wanted in COLOURS:
        facts = Facts.of(today, fever_c, community_id if community is None else community)
        query = facts.join(query).where(facts.colour == wanted)
    return query


def residents_with_colours(
    session: Session, ids: Sequence[int], today: dt.date, fever_c: Decimal
) -> list[tuple[Resident, str, str]]:
    """(resident, community name, colour) for ``ids``, in the order given."""
    if not ids:
        return []
    query = (
        select(Resident, Community.name, colour(today, fever_c))
        .join(Community, Community.id == Resident.community_id)
        .where(Resident.id.in_(ids))
    )
    found = {r.id: (r, name, shade) for r, name, shade in session.execute(query)}
    return [found[i] for i in ids if i in found]


def colour_counts(
    session: Session, community_id: int | None, today: dt.date, fever_c: Decimal
) -> dict[str, int]:
    facts = Facts.of(today, fever_c, community_id)
    shade = facts.colour.label("colour")
    query = in_scope(
        facts.join(select(shade).select_from(Resident)), Resident.community_id, community_id
    )
    inner = query.subquery()
    totals = select(inner.c.colour, func.count()).group_by(inner.c.colour)
    counts = {str(name): int(n) for name, n in session.execute(totals)}
    return {name: counts.get(name, 0) for name in COLOURS}


def colour_of(resident_id: int, today: dt.date, fever_c: Decimal) -> AnySelect:
    return select(colour(today, fever_c)).where(Resident.id == resident_id)


def building_of(address: str | None) -> str | None:
    """ "建设西路12号院3号楼2单元501" → "建设西路12号院3号楼"; None without a building."""
    match = _BUILDING.match(address or "")
    return match.group(1) if match else None


def buildings(session: Session, community_id: int) -> list[str]:
    """The buildings of one community, from its residents' addresses."""
    query = select(Resident.address).where(Resident.community_id == community_id).distinct()
    found = {building_of(address) for address in session.scalars(query)}
    return sorted(b for b in found if b)
