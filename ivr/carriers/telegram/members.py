"""Whom a chat check-in asks: one resident, or the members of a household in turn.

A household's chat check-in lists its members as ``TelegramMember`` rows, in the order the
household call asks them (``households.in_order``), and its flow starts from the same seeded
state as that call (``households.seed``), so the engine asks each member's section in turn and
tags their answers with their ``position``. A single resident's has no rows: its member is the
check-in's own.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ivr.domain import households
from ivr.domain.households import Member
from storage import CheckIn, TelegramCheckIn, TelegramMember

log = logging.getLogger(__name__)

SOURCE = "telegram"  # CheckIn.source of a check-in closed by chat


def of(session: Session, talk: TelegramCheckIn) -> list[Member]:
    """Every resident the chat check-in asks, in order (just its own for a single one)."""
    query = (
        select(TelegramMember)
        .where(TelegramMember.talk_id == talk.id)
        .options(joinedload(TelegramMember.checkin), joinedload(TelegramMember.resident))
        .order_by(TelegramMember.position)
    )
    rows = session.scalars(query).all()
    if rows:
        return [Member(r.position, r.checkin, r.resident) for r in rows]
    return [Member(0, talk.checkin, talk.resident)]


def add(session: Session, talk: TelegramCheckIn, checkins: Sequence[CheckIn]) -> None:
    """List a household chat check-in's members (``checkins`` in asking order)."""
    session.flush()  # the talk's id
    for position, checkin in enumerate(checkins):
        session.add(
            TelegramMember(
                talk_id=talk.id,
                position=position,
                checkin_id=checkin.id,
                resident_id=checkin.resident_id,
            )
        )


def still_open(checkin: CheckIn) -> bool:
    """Not called yet and not closed by anyone: the chat may still ask it."""
    return checkin.status == "pending" and checkin.attempts == 0


def ours(members: Sequence[Member]) -> bool:
    """The chat still runs the check-in: no call was placed for any member (from then on the
    call asks them all), and someone is left to ask or was answered in this chat."""
    checkins = [m.checkin for m in members]
    if any(c.attempts for c in checkins):
        return False
    return any(still_open(c) or c.source == SOURCE for c in checkins)


def first_state(session: Session, talk: TelegramCheckIn) -> dict[str, Any] | None:
    """The state the flow starts from when the chat is sent: a household's names the members
    still due (others' calls took them in the meantime; they are dropped and the rest renumbered),
    as the call names them; None for a single resident, as the call has it."""
    rows = session.scalars(
        select(TelegramMember)
        .where(TelegramMember.talk_id == talk.id)
        .order_by(TelegramMember.position)
    ).all()
    if not rows:
        return None
    due = [r for r in rows if still_open(r.checkin)]
    for row in rows:
        if row not in due:
            session.delete(row)
    session.flush()
    for position, row in enumerate(due):
        row.position = position
    if due and due[0].checkin_id != talk.checkin_id:
        talk.checkin_id, talk.resident_id = due[0].checkin_id, due[0].resident_id
    return households.seed([r.resident.name for r in due]) if due else None


def call_now(session: Session, talk: TelegramCheckIn, now: dt.datetime) -> None:
    """The chat ended before it was answered (unlinked): the call for the members still due
    comes now rather than at the end of the grace (one call: the dialer asks a household's
    members together), but never before the round's own time."""
    for member in of(session, talk):
        checkin = member.checkin
        due = checkin.next_attempt_at
        if not still_open(checkin) or due is None:
            continue
        checkin.next_attempt_at = max(talk.due_at, min(due, now))
        log.info("telegram check-in %s ended: check-in %s is called now", talk.id, checkin.id)
