"""The dashboard's queries: ``Select``s the views page through, always limited to a scope.

``community_id`` is the viewer's scope (None: every community). Every lookup by id goes
through ``get_in_scope``/``call_in_scope``, which answer "not found" for another community's
rows, so a guessed URL tells nothing about what exists elsewhere. No Flask here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Select, case, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, selectinload

from storage import CallAttempt, CheckIn, Community, Escalation, Resident, ServiceOrder

T = TypeVar("T", Resident, Escalation, ServiceOrder)
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)

TEMPERATURE_REASONS = frozenset({"fever", "high_fever", "low_temperature", "rising_temperature"})
SEVERITY_ORDER = case(
    (Escalation.severity == "urgent", 0), (Escalation.severity == "high", 1), else_=2
)


class OutOfScope(LookupError):
    """No such row, or not in the viewer's community: the same answer for both."""


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def paginate(session: Session, query: AnySelect, number: int, size: int) -> Page:
    """One page of ``query``; one row more than a page tells whether there is a next one."""
    number = max(1, number)
    rows = session.execute(query.limit(size + 1).offset((number - 1) * size)).all()
    return Page(rows[:size], number, len(rows) > size)


def in_scope(query: S, column: InstrumentedAttribute[int], community_id: int | None) -> S:
    return query if community_id is None else query.where(column == community_id)


def get_in_scope(session: Session, model: type[T], row_id: int, community_id: int | None) -> T:
    found = session.get(model, row_id)
    if found is None or (community_id is not None and found.community_id != community_id):
        raise OutOfScope(f"{model.__name__} {row_id}")
    return found


def call_in_scope(session: Session, attempt_id: int, community_id: int | None) -> CallAttempt:
    query = (
        select(CallAttempt)
        .options(selectinload(CallAttempt.events))
        .outerjoin(Resident, Resident.id == CallAttempt.resident_id)
        .where(CallAttempt.id == attempt_id)
    )
    found = session.scalars(in_scope(query, Resident.community_id, community_id)).first()
    if found is None:
        raise OutOfScope(f"call {attempt_id}")
    return found


def escalations(community_id: int | None, resolved: bool = False) -> AnySelect:
    """Unresolved: not yet acknowledged first, then urgent first, then oldest first.
    Resolved: the most recent first."""
    query = (
        select(Escalation, Resident, Community.name)
        .join(Resident, Resident.id == Escalation.resident_id)
        .join(Community, Community.id == Escalation.community_id)
    )
    query = in_scope(query, Escalation.community_id, community_id)
    if resolved:
        return query.where(Escalation.status == "resolved").order_by(
            Escalation.opened_at.desc(), Escalation.id.desc()
        )
    earlier = aliased(Escalation)
    told_before = exists().where(  # one card per reading: its first escalation stands for all
        earlier.resident_id == Escalation.resident_id,
        earlier.ack_code == Escalation.ack_code,
        earlier.status != "resolved",
        earlier.id < Escalation.id,
    )
    return query.where(Escalation.status != "resolved", ~told_before).order_by(
        case((Escalation.status == "open", 0), else_=1),
        SEVERITY_ORDER,
        Escalation.opened_at,
        Escalation.id,
    )


@dataclass(frozen=True)
class Reading:
    temperature_c: Any  # Decimal
    at: dt.datetime


def told_together(session: Session, shown: Sequence[Escalation]) -> dict[int, list[Escalation]]:
    """For each card, the other unresolved escalations of the same reading (same code), in
    one query for the whole page."""
    codes = {e.ack_code for e in shown if e.ack_code}
    if not codes:
        return {}
    query = select(Escalation).where(
        Escalation.ack_code.in_(codes), Escalation.status != "resolved"
    )
    found = list(session.scalars(query.order_by(Escalation.id)))
    return {
        e.id: [
            o
            for o in found
            if o.id != e.id and o.resident_id == e.resident_id and o.ack_code == e.ack_code
        ]
        for e in shown
        if e.ack_code
    }


def later_readings(session: Session, shown: Sequence[Escalation]) -> dict[int, Reading]:
    """For each unresolved temperature escalation, the resident's latest reading when it is
    newer than the one that raised it: a person decides, but sees how the resident is now."""
    wanted = {
        e.resident_id: e
        for e in shown
        if e.reason in TEMPERATURE_REASONS and e.status != "resolved"
    }
    if not wanted:
        return {}
    query = (
        select(CheckIn.resident_id, CheckIn.id, CheckIn.temperature_c, CheckIn.updated_at)
        .where(CheckIn.resident_id.in_(wanted), CheckIn.temperature_c.is_not(None))
        .order_by(CheckIn.resident_id, CheckIn.updated_at.desc(), CheckIn.id.desc())
    )
    latest: dict[int, Reading] = {}
    seen: set[int] = set()
    for resident_id, checkin_id, temperature, at in session.execute(query):
        if resident_id in seen:
            continue
        seen.add(resident_id)
        if checkin_id != wanted[resident_id].checkin_id:
            latest[wanted[resident_id].id] = Reading(temperature, at)
    return latest


def orders(community_id: int | None, done: bool = False) -> AnySelect:
    """Open and taken orders, oldest first; or delivered and cancelled ones, latest first."""
    query = (
        select(ServiceOrder, Resident, Community.name)
        .join(Resident, Resident.id == ServiceOrder.resident_id)
        .join(Community, Community.id == ServiceOrder.community_id)
    )
    query = in_scope(query, ServiceOrder.community_id, community_id)
    if done:
        return query.where(ServiceOrder.status.in_(("delivered", "cancelled"))).order_by(
            ServiceOrder.opened_at.desc(), ServiceOrder.id.desc()
        )
    return query.where(ServiceOrder.status.in_(("open", "taken"))).order_by(
        case((ServiceOrder.status == "open", 0), else_=1),
        ServiceOrder.opened_at,
        ServiceOrder.id,
    )


CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled", "live")


def calls(
    community_id: int | None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    community: int | None = None,
    status: str | None = None,
) -> AnySelect:
    """Call attempts, newest first; ``start``/``end`` bound when they were created (UTC)."""
    query = (
        select(CallAttempt, Resident.name, Community.name)
        .outerjoin(Resident, Resident.id == CallAttempt.resident_id)
        .outerjoin(Community, Community.id == Resident.community_id)
        .order_by(CallAttempt.created_at.desc(), CallAttempt.id.desc())
    )
    query = in_scope(query, Resident.community_id, community_id)
    if community is not None:
        query = query.where(Resident.community_id == community)
    if start is not None:
        query = query.where(CallAttempt.created_at >= start)
    if end is not None:
        query = query.where(CallAttempt.created_at < end)
    if status == "live":
        query = query.where(CallAttempt.state != "ended")
    elif status:
        query = query.where(CallAttempt.status == status)
    return query


def communities(session: Session, community_id: int | None) -> list[Community]:
    query = in_scope(select(Community).order_by(Community.name), Community.id, community_id)
    return list(session.scalars(query))
