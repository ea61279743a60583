"""Today's status of every resident as a colour, worked out in SQL (五色动态监管图).

===========  ==================================================================================
colour       when (the first that applies)
===========  ==================================================================================
red          an unresolved urgent escalation
orange       any other unresolved escalation
grey         not being called today: released, on hold, outside the isolation period, bad phone
orange       a fever today, or today's last closed check-in was missed
yellow       today's last closed check-in was partial
green        today's last closed check-in was complete
pending      nothing settled yet today (the round has not reached them)
===========  ==================================================================================

Escalations come before grey on purpose: an escalation still needs a person even when the calls
have stopped. Today's fever or missed call come after it: a release or hold closes the call in
progress as missed, and a released resident is not "unreached".

Today's check-ins are read from each resident's day summary (``storage.day_summary``: the
hottest temperature and the last closed status of their latest day), so no query aggregates the
district's check-ins. Unresolved escalations are few (one per resident in trouble): they are
read as ``resident.id IN (…)``, which PostgreSQL runs once per query as a hashed set. The rule
is then a filter on ``resident`` alone: a page of 50 in address order walks the address index
and stops at the 50th match, a count is one pass.

The rule is written once, as a list of (condition, colour), and rendered twice: as a ``CASE``
to show a colour, and as a plain boolean filter (``is_colour``) to list one colour, because the
planner cannot estimate how many rows a ``CASE … = 'green'`` keeps (it guesses 0.5 %, and then
sorts the whole district instead of walking the index). Every condition is written to be true or
false, never NULL, so "not an earlier colour" is a plain NOT. Tests keep the two renderings in
agreement and the summaries true to the check-ins.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from ivr.web.dashboard.queries import AnySelect, in_scope
from storage import CheckIn, Community, Escalation, Resident
from storage.queries import monitored_on

# /today's counts: "pending" there also holds the residents being called right now.
ROUND_STATUSES = {
    "complete": ("complete",),
    "partial": ("partial",),
    "missed": ("missed",),
    "pending": ("pending", "dialing", "in_call"),
}
COLOURS = ("red", "orange", "yellow", "green", "grey", "pending")
_PHONE_SPACING = re.compile(r"[\s\-()（）]+")
_BUILDING = re.compile(r"^(.*?\d+\s*(?:号楼|號樓|栋|棟|幢|座))")


def _rule(today: dt.date, fever_c: Decimal) -> list[tuple[ColumnElement[bool], str]]:
    """The colours in order, each with its condition; "pending" when none holds."""
    day, hottest, last = Resident.day_date, Resident.day_max_temperature_c, Resident.day_last_closed
    on_today = and_(day.is_not(None), day == today)

    def last_was(status: str) -> ColumnElement[bool]:
        return and_(on_today, last.is_not(None), last == status)

    fever = and_(on_today, hottest.is_not(None), hottest >= fever_c)
    return [
        (Resident.id.in_(_unresolved().where(Escalation.severity == "urgent")), "red"),
        (Resident.id.in_(_unresolved()), "orange"),
        # A release or hold closes the day's call as missed: that is not "unreached".
        (not_(monitored_on(today)), "grey"),
        (or_(fever, last_was("missed")), "orange"),
        (last_was("partial"), "yellow"),
        (last_was("complete"), "green"),
    ]


def colour(today: dt.date, fever_c: Decimal) -> ColumnElement[str]:
    """The colour of ``Resident`` in the enclosing query."""
    return case(*_rule(today, fever_c), else_="pending")


def is_colour(wanted: str, today: dt.date, fever_c: Decimal) -> ColumnElement[bool]:
    """``colour(today, fever_c) == wanted`` as a filter the planner can estimate: some entry
    of that colour holds and no earlier entry does."""
    matches: list[ColumnElement[bool]] = []
    earlier: list[ColumnElement[bool]] = []
    for holds, entry_colour in _rule(today, fever_c):
        if entry_colour == wanted:
            matches.append(and_(*(not_(e) for e in earlier), holds))
        earlier.append(holds)
    if wanted == "pending":
        return and_(*(not_(e) for e in earlier))
    return or_(*matches)


def _unresolved() -> AnySelect:
    return select(Escalation.resident_id).where(Escalation.status != "resolved")


def resident_ids(
    community_id: int | None,
    today: dt.date,
    fever_c: Decimal,
    *,
    community: int | None = None,
    building: str | None = None,
    wanted: str | None = None,
    search: str | None = None,
    checked_in: tuple[int, str] | None = None,
) -> AnySelect:
    """Resident ids in list order (by address, so a building's people are together).

    ``checked_in`` is (round id, check-in status): the residents behind one of /today's counts.
    """
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
                Resident.phone.contains(_as_stored(search), autoescape=True),
            )
        )
    if wanted in COLOURS:
        query = query.where(is_colour(wanted, today, fever_c))
    if checked_in is not None:
        round_id, status = checked_in
        statuses = ROUND_STATUSES[status]
        in_round = select(CheckIn.resident_id).where(
            CheckIn.round_id == round_id, CheckIn.status.in_(statuses)
        )
        query = query.where(Resident.id.in_(in_round))
    return query


def _as_stored(search: str) -> str:
    """ "138 0371 0101", "138-0371-0101" or "+86 138…" as phones are stored (E.164 digits)."""
    return _PHONE_SPACING.sub("", search)


def why_orange(resident: Resident, today: dt.date, fever_c: Decimal) -> str | None:
    """ "fever" or "unreached" for an orange resident without an escalation: the two look the
    same on the board, but one needs a visit and the other a call."""
    if resident.day_date != today:
        return None
    hottest = resident.day_max_temperature_c
    if hottest is not None and hottest >= fever_c:
        return "fever"
    return "unreached" if resident.day_last_closed == "missed" else None


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
    query = select(colour(today, fever_c).label("colour"))
    inner = in_scope(query, Resident.community_id, community_id).subquery()
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
