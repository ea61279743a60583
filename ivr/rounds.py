"""Starting rounds: one per community and slot, each creating the day's pending check-ins.

A round row is unique per (community, local date, slot), so a second worker, a restart or a double
tick can never start the same slot twice: the insert fails and nothing else happens.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr import audit
from ivr.config import Settings, parse_times
from ivr.schedule import Schedule, schedule_for
from ivr.settle import close_missed
from storage import CheckIn, Community, Resident, Round

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    round: Round
    checkins: int


def start_round(
    session: Session,
    community: Community,
    slot: str,
    due: dt.datetime,
    settings: Settings,
    now: dt.datetime,
    *,
    slot_index: int | None = None,
    only: list[int] | None = None,
    max_attempts: int | None = None,
) -> Started | None:
    """Create the round and a pending check-in for every resident monitored that day.

    Returns None when this slot was already started. ``slot_index`` picks each resident's own
    preferred time for scheduled slots; ``only`` limits a round to some residents.
    """
    schedule = schedule_for(community, settings)
    day = schedule.local_date(due)
    round_ = Round(
        community_id=community.id,
        local_date=day,
        slot=slot,
        scheduled_for=due,
        closes_at=schedule.closes(day),
        started_at=now,
    )
    try:
        with session.begin_nested():
            session.add(round_)
    except IntegrityError:
        log.info("round %s %s %s already started", community.name, day, slot)
        return None
    residents = _monitored(session, community.id, day, only)
    _supersede_open_checkins(session, [r.id for r in residents], round_.id, settings, now)
    rows = [
        _checkin_row(round_, r, schedule, due, slot_index, settings, now, max_attempts)
        for r in residents
    ]
    if rows:
        session.execute(insert(CheckIn), rows)
    audit.record(
        session,
        now,
        audit.SYSTEM,
        "round_started",
        "round",
        round_.id,
        f"{community.name} {day} {slot}: {len(rows)} residents",
    )
    log.info(
        "round %s started: %s %s %s, %d residents", round_.id, community.name, day, slot, len(rows)
    )
    return Started(round_, len(rows))


def _monitored(
    session: Session, community_id: int, day: dt.date, only: list[int] | None
) -> list[Resident]:
    query = select(Resident).where(
        Resident.community_id == community_id,
        Resident.released_at.is_(None),
        Resident.phone_invalid_at.is_(None),
    )
    if only is not None:
        query = query.where(Resident.id.in_(only))
    return [r for r in session.scalars(query) if r.monitored_on(day)]


def _checkin_row(
    round_: Round,
    resident: Resident,
    schedule: Schedule,
    due: dt.datetime,
    slot_index: int | None,
    settings: Settings,
    now: dt.datetime,
    max_attempts: int | None,
) -> dict[str, object]:
    when = _resident_due(resident, schedule, round_.local_date, due, slot_index)
    return {
        "round_id": round_.id,
        "resident_id": resident.id,
        "local_date": round_.local_date,
        "status": "pending",
        "attempts": 0,
        "max_attempts": max_attempts or settings.max_attempts,
        "next_attempt_at": when,
        "closes_at": round_.closes_at,
        "priority": 2 if resident.lives_alone else 0,
        "needs": [],
        "callback_requested": False,
        "reached": False,
        "finished": False,
        "source": "call",
        "created_at": now,
        "updated_at": now,
    }


def _resident_due(
    resident: Resident, schedule: Schedule, day: dt.date, due: dt.datetime, slot_index: int | None
) -> dt.datetime:
    """The slot time, or the resident's own preferred time for that slot, inside the window."""
    if slot_index is not None and resident.preferred_times:
        try:
            own = parse_times(resident.preferred_times)
        except ValueError:
            own = ()
        if slot_index < len(own):
            due = schedule.at(day, own[slot_index])
    return schedule.clamp(day, due)


def _supersede_open_checkins(
    session: Session, resident_ids: list[int], round_id: int, settings: Settings, now: dt.datetime
) -> None:
    """A new round replaces an older one still open for the same resident, so nobody is
    called for two rounds at once: an idle one closes now, one in a call closes when it ends."""
    if not resident_ids:
        return
    query = select(CheckIn).where(
        CheckIn.status == "pending",
        CheckIn.round_id != round_id,
        CheckIn.resident_id.in_(resident_ids),
    )
    for older in session.scalars(query):
        if older.next_attempt_at is None:
            older.max_attempts = older.attempts
        else:
            close_missed(session, older, settings, now)


def due_slot(schedule: Schedule, now: dt.datetime) -> tuple[str, int, dt.datetime] | None:
    """The latest slot whose time has come today while the window is open, if any.

    After downtime only the latest due slot starts: two slots started together would call
    everyone twice within minutes.
    """
    day = schedule.local_date(now)
    if not schedule.in_window(now):
        return None
    due = [(i, t) for i, t in enumerate(schedule.round_times) if schedule.at(day, t) <= now]
    if not due:
        return None
    index, time = due[-1]
    return time.strftime("%H:%M"), index, schedule.at(day, time)


def start_due_rounds(session: Session, settings: Settings, now: dt.datetime) -> list[Started]:
    """Start, for every community, the round whose time has come (if not started already)."""
    started = []
    for community in session.scalars(select(Community).order_by(Community.id)):
        schedule = schedule_for(community, settings)
        slot = due_slot(schedule, now)
        if slot is None or _later_round_exists(session, community, schedule, slot[0], now):
            continue
        result = start_round(
            session, community, slot[0], slot[2], settings, now, slot_index=slot[1]
        )
        if result is not None:
            started.append(result)
    return started


def _later_round_exists(
    session: Session, community: Community, schedule: Schedule, slot: str, now: dt.datetime
) -> bool:
    query = select(Round.id).where(
        Round.community_id == community.id,
        Round.local_date == schedule.local_date(now),
        Round.slot >= slot,
        ~Round.slot.startswith("manual"),
    )
    return session.scalar(query.limit(1)) is not None


def start_manual_round(
    session: Session,
    community: Community,
    settings: Settings,
    now: dt.datetime,
    *,
    only: list[int] | None = None,
    max_attempts: int | None = None,
) -> Started | None:
    """``pingan round start``: a round right now, outside the regular slots."""
    local = now.astimezone(settings.tz)
    slot = f"manual-{local:%H%M%S}"
    return start_round(
        session, community, slot, now, settings, now, only=only, max_attempts=max_attempts
    )
