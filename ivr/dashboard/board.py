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

Two spellings of the same rule, for two access patterns:

* ``colour`` is correlated per resident: a page of 50 residents costs 50 small index lookups,
  whatever the size of the district. The list pages residents by address first (an index scan
  on ``resident`` alone) and only then works out the colours of those 50.
* ``Facts`` joins each resident to three small derived tables (unresolved escalations, today's
  fevers, today's last closed check-in), which the database builds once per query: that is what
  counting every colour, or listing only one colour, needs.

A test keeps both spellings in agreement.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Subquery, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from ivr.dashboard.queries import AnySelect, in_scope
from storage import CheckIn, Community, Escalation, Resident
from storage.queries import monitored_on

COLOURS = ("red", "orange", "yellow", "green", "grey", "pending")
CLOSED = ("missed", "partial", "complete")
_BUILDING = re.compile(r"^(.*?\d+\s*(?:号楼|號樓|栋|棟|幢|座))")


def _rule(
    urgent: ColumnElement[bool],
    unresolved: ColumnElement[bool],
    fever: ColumnElement[bool],
    last_is: Callable[[str], ColumnElement[bool]],
    today: dt.date,
) -> ColumnElement[str]:
    """``last_is(status)``: today's last closed check-in has that status."""
    return case(
        (urgent, "red"),
        (or_(unresolved, fever, last_is("missed")), "orange"),
        (not_(monitored_on(today)), "grey"),
        (last_is("partial"), "yellow"),
        (last_is("complete"), "green"),
        else_="pending",
    )


def colour(today: dt.date, fever_c: Decimal) -> ColumnElement[str]:
    """The colour of ``Resident`` in the enclosing query, by correlated lookups."""
    open_ = and_(Escalation.resident_id == Resident.id, Escalation.status != "resolved")
    todays = and_(CheckIn.resident_id == Resident.id, CheckIn.local_date == today)
    last_closed = (
        select(CheckIn.status)
        .where(todays, CheckIn.status != "pending")
        .order_by(CheckIn.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return _rule(
        exists().where(open_, Escalation.severity == "urgent"),
        exists().where(open_),
        exists().where(todays, CheckIn.temperature_c >= fever_c),
        lambda status: last_closed == status,
        today,
    )


@dataclass(frozen=True)
class Facts:
    """Today's facts as derived tables, joined to ``Resident`` by ``join``."""

    escalations: Subquery
    fevers: Subquery
    closed: Subquery  # per resident: the id of today's last closed check-in, and of each kind
    today: dt.date

    @classmethod
    def of(cls, today: dt.date, fever_c: Decimal, community_id: int | None = None) -> Facts:
        """``community_id`` limits the derived tables to one community (the same answer for
        its residents, built from its rows only)."""
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
        fevers = (
            _todays(select(CheckIn.resident_id), today, community_id)
            .where(CheckIn.temperature_c >= fever_c)
            .group_by(CheckIn.resident_id)
            .subquery("fevers")
        )
        # "The last closed check-in was missed" is "the newest missed one is the newest one":
        # one grouped pass over today's rows, with no join back to find the last row's status.
        newest = [func.max(CheckIn.id).label("last")] + [
            func.max(case((CheckIn.status == s, CheckIn.id))).label(s) for s in CLOSED
        ]
        closed = (
            _todays(select(CheckIn.resident_id, *newest), today, community_id)
            .where(CheckIn.status != "pending")
            .group_by(CheckIn.resident_id)
            .subquery("closed_today")
        )
        return cls(escalations, fevers, closed, today)

    def join(self, query: AnySelect) -> AnySelect:
        return (
            query.outerjoin(self.escalations, self.escalations.c.resident_id == Resident.id)
            .outerjoin(self.fevers, self.fevers.c.resident_id == Resident.id)
            .outerjoin(self.closed, self.closed.c.resident_id == Resident.id)
        )

    @property
    def colour(self) -> ColumnElement[str]:
        return _rule(
            self.escalations.c.urgent == 1,
            self.escalations.c.resident_id.is_not(None),
            self.fevers.c.resident_id.is_not(None),
            lambda status: self.closed.c[status] == self.closed.c.last,
            self.today,
        )


def _todays(query: AnySelect, today: dt.date, community_id: int | None) -> AnySelect:
    query = query.where(CheckIn.local_date == today)
    if community_id is None:
        return query
    members = select(Resident.id).where(Resident.community_id == community_id)
    return query.where(CheckIn.resident_id.in_(members))


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
