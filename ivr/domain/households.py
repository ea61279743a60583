"""Households: residents who share one phone are called together, one call asking each.

A call that asks several residents lists them as ``CallMember`` rows, in the order the flow
asks them (its state's ``member`` is a row's ``position``); the attempt's own check-in and
resident are position 0's, so that member's answers and the household's (needs, a transfer)
cost no extra query. A call that asks one resident has no rows and works as it always did.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload

from storage import CallAttempt, CallMember, CheckIn, Resident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    """One resident a call asks, and how far the call got with them."""

    position: int
    checkin: CheckIn
    resident: Resident


def claim_housemates(session: Session, lead: CheckIn, now: dt.datetime) -> list[CheckIn]:
    """The open check-ins of the lead's housemates (same phone, same day) waiting for a call,
    claimed as the lead's was (``next_attempt_at`` cleared, an attempt counted): the
    household is dialled once, and only members still due are asked."""
    query = (
        select(CheckIn.id)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .where(
            Resident.phone == lead.resident.phone,
            CheckIn.id != lead.id,
            CheckIn.status == "pending",
            CheckIn.local_date == lead.local_date,
            CheckIn.next_attempt_at.is_not(None),
            CheckIn.closes_at > now,
        )
        .with_for_update(skip_locked=True, of=CheckIn)
    )
    claimed = []
    for checkin_id in session.scalars(query).all():
        result = session.execute(
            update(CheckIn)
            .where(
                CheckIn.id == checkin_id,
                CheckIn.next_attempt_at.is_not(None),
                CheckIn.status == "pending",
            )
            .values(next_attempt_at=None, attempts=CheckIn.attempts + 1, updated_at=now)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            found = session.get(CheckIn, checkin_id, populate_existing=True)
            assert found is not None
            claimed.append(found)
    return claimed


def in_order(checkins: Sequence[CheckIn]) -> list[CheckIn]:
    """The order members are asked in: as registered (the same every call)."""
    return sorted(checkins, key=lambda c: c.resident_id)


def add_members(session: Session, attempt: CallAttempt, checkins: Sequence[CheckIn]) -> None:
    """List a household call's members (``checkins`` in asking order; the first is the
    attempt's own) and seed the flow with their names. One member needs no list, but is
    named when others share the phone: whoever answers must know whose check-in is left."""
    if len(checkins) < 2:
        if checkins and _shares_phone(session, checkins[0].resident):
            attempt.flow_state = seed([checkins[0].resident.name])
        return
    session.flush()  # the attempt's id
    for position, checkin in enumerate(checkins):
        session.add(
            CallMember(
                attempt_id=attempt.id,
                position=position,
                checkin_id=checkin.id,
                resident_id=checkin.resident_id,
            )
        )
    attempt.flow_state = seed([c.resident.name for c in checkins])
    log.info("attempt %s asks a household of %d", attempt.id, len(checkins))


def seed(names: Sequence[str]) -> dict[str, Any]:
    """The flow state a household call starts from (``callflows.FlowState.members``)."""
    return {"members": list(names)}


def reseed(session: Session, attempt: CallAttempt) -> dict[str, Any] | None:
    """The starting state again, for a call whose flow restarts (a caller identified)."""
    members = members_of(session, attempt)
    if len(members) == 1 and not _shares_phone(session, members[0].resident):
        return None
    return seed([m.resident.name for m in members]) if members else None


def _shares_phone(session: Session, resident: Resident) -> bool:
    query = select(Resident.id).where(Resident.phone == resident.phone, Resident.id != resident.id)
    return session.scalars(query.limit(1)).first() is not None


def members_of(session: Session, attempt: CallAttempt) -> list[Member]:
    """Every resident the call asks, in order (just the attempt's own for a single one)."""
    query = (
        select(CallMember)
        .where(CallMember.attempt_id == attempt.id)
        .options(joinedload(CallMember.checkin), joinedload(CallMember.resident))
        .order_by(CallMember.position)
    )
    rows = session.scalars(query).all()
    if rows:
        return [Member(r.position, r.checkin, r.resident) for r in rows]
    if attempt.checkin is None or attempt.resident is None:
        return []
    return [Member(0, attempt.checkin, attempt.resident)]


# Built once: a key press on a household call pays for one indexed row, not for building
# the statement (its loader options cost more CPU than the query itself).
_MEMBER_AT = (
    select(CallMember)
    .where(
        CallMember.attempt_id == bindparam("attempt_id"),
        CallMember.position == bindparam("position"),
    )
    .options(joinedload(CallMember.checkin), joinedload(CallMember.resident))
)


def member_at(session: Session, attempt: CallAttempt, position: int) -> Member | None:
    """The member at ``position`` (one indexed row: a key press costs the same whatever the
    household's size)."""
    params = {"attempt_id": attempt.id, "position": position}
    row = session.scalars(_MEMBER_AT, params).first()
    return Member(row.position, row.checkin, row.resident) if row else None


def calls_of(checkin: CheckIn) -> ColumnElement[bool]:
    """The calls that asked a check-in: its own attempts and household calls it was part of."""
    household = select(CallMember.attempt_id).where(CallMember.checkin_id == checkin.id)
    return or_(CallAttempt.checkin_id == checkin.id, CallAttempt.id.in_(household))


@dataclass(frozen=True)
class Progress:
    """How far a household call got with one member (from the flow's final state)."""

    reached: bool  # a person was keying for them (not skipped as away, not left unasked)
    finished: bool  # their questions were answered to the end of their section


def progress(state: Mapping[str, Any] | None, position: int, answered: bool) -> Progress:
    state = state or {}
    away = position in (state.get("away") or [])
    asked = position <= int(state.get("member") or 0)
    return Progress(answered and asked and not away, position in (state.get("done") or []))


def housemates(session: Session, phone: str) -> list[Resident]:
    """Everyone registered with this phone, as asked in a call."""
    query = select(Resident).where(Resident.phone == phone).order_by(Resident.id)
    return list(session.scalars(query))


def household_names(session: Session, phones: Sequence[str]) -> dict[str, str]:
    """For each of these phones that several residents share, their names (one query)."""
    names: dict[str, list[str]] = {}
    wanted = list(dict.fromkeys(phones))
    if not wanted:
        return {}
    query = (
        select(Resident.phone, Resident.name)
        .where(Resident.phone.in_(wanted))
        .order_by(Resident.phone, Resident.id)
    )
    for phone, name in session.execute(query):
        names.setdefault(phone, []).append(name)
    return {phone: "、".join(group) for phone, group in names.items() if len(group) > 1}
