"""Starting rounds: one per community and slot, each creating the day's pending check-ins.

A round row is unique per (community, local date, slot), so a second worker, a restart or a double
tick can never start the same slot twice: the insert fails and nothing else happens.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    Date,
    Select,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.config import Settings, parse_times
from ivr.domain import audit, channels
from ivr.domain.schedule import Schedule, schedule_for
from ivr.domain.settle import close_missed
from storage import CheckIn, Community, Escalation, Resident, Round, UTCDateTime
from storage.queries import monitored_on

log = logging.getLogger(__name__)

COMPLETED = ("complete", "partial")
# A slot the scheduler starts later than this after its time is a catch-up round (the worker
# was down or started late): longer than its 20-s tick and a short database blip.
CATCH_UP_AFTER_S = 60


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
    unreached_only: bool = False,
    skip_completed_in: tuple[dt.datetime, dt.datetime] | None = None,
) -> Started | None:
    """Create the round and a pending check-in for every resident monitored that day.

    Returns None when this slot was already started. ``slot_index`` picks each resident's own
    preferred time for scheduled slots; ``only`` limits a round to some residents;
    ``unreached_only`` (a round forced on top of a running one) leaves out whoever has a call in
    flight or a completed check-in today, and takes over the open check-ins of the others
    instead of closing them; ``skip_completed_in`` (a catch-up round) leaves out whoever
    completed a check-in in that span.
    """
    schedule = schedule_for(community, settings)
    day = schedule.local_date(due)
    due = schedule.clamp(day, due)  # a slot before the window opens waits for it
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
    attempts = max_attempts or settings.max_attempts
    if unreached_only:
        moved = _take_over_unreached(session, round_, only, now, attempts)
    else:
        moved = _supersede_open_checkins(session, round_, only, settings, now, attempts)
    created = moved + _create_checkins(
        session,
        round_,
        only,
        now,
        attempts,
        skip_existing=moved,
        unreached_only=unreached_only,
        skip_completed_in=skip_completed_in,
    )
    _apply_preferred_times(session, round_, schedule, due, slot_index)
    channels.offer_round(session, round_.id, settings, now)
    audit.record(
        session,
        now,
        audit.SYSTEM,
        "round_started",
        "round",
        round_.id,
        f"{community.name} {day} {slot}: {created} residents",
    )
    log.info(
        "round %s started: %s %s %s, %d residents", round_.id, community.name, day, slot, created
    )
    return Started(round_, created)


def _create_checkins(
    session: Session,
    round_: Round,
    only: list[int] | None,
    now: dt.datetime,
    max_attempts: int,
    *,
    skip_existing: int,
    unreached_only: bool = False,
    skip_completed_in: tuple[dt.datetime, dt.datetime] | None = None,
) -> int:
    """One INSERT … SELECT for the whole community: 100,000 residents take well under a second,
    where building the rows in Python took seconds."""
    due = round_.scheduled_for
    values = {
        "round_id": literal(round_.id),
        "resident_id": Resident.id,
        "local_date": literal(round_.local_date, Date),
        "status": literal("pending"),
        "attempts": literal(0),
        "max_attempts": literal(max_attempts),
        "next_attempt_at": literal(due, UTCDateTime()),
        "closes_at": literal(round_.closes_at, UTCDateTime()),
        # First in the queue: people living alone, and urgent cases (an urgent escalation still
        # open, e.g. a high fever this morning or two missed rounds in a row).
        "priority": case((or_(Resident.lives_alone, Resident.id.in_(_urgent_cases())), 2), else_=0),
        "needs": literal([], JSON()),
        "callback_requested": false(),
        "reached": false(),
        "finished": false(),
        "source": literal("call"),
        "created_at": literal(now, UTCDateTime()),
        "updated_at": literal(now, UTCDateTime()),
    }
    eligible = select(*values.values()).where(
        Resident.community_id == round_.community_id, monitored_on(round_.local_date)
    )
    if only is not None:
        eligible = eligible.where(Resident.id.in_(only))
    if skip_existing:  # residents whose earlier check-in moved into this round already have one
        already = select(CheckIn.id).where(
            CheckIn.round_id == round_.id, CheckIn.resident_id == Resident.id
        )
        eligible = eligible.where(~already.exists())
    if unreached_only:
        eligible = eligible.where(~_reached_or_open(round_.local_date).exists())
    if skip_completed_in is not None:
        start, end = skip_completed_in
        completed = select(CheckIn.id).where(
            CheckIn.resident_id == Resident.id,
            CheckIn.status.in_(COMPLETED),
            CheckIn.closed_at >= start,
            CheckIn.closed_at < end,
        )
        eligible = eligible.where(~completed.exists())
    # Without preserve_rowcount SQLAlchemy 2.1 reports -1 for INSERT … SELECT on PostgreSQL.
    result = session.execute(
        insert(CheckIn).from_select(list(values), eligible),
        execution_options={"preserve_rowcount": True},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _urgent_cases() -> Select[int]:
    return select(Escalation.resident_id).where(
        Escalation.status != "resolved", Escalation.severity == "urgent"
    )


def _apply_preferred_times(
    session: Session,
    round_: Round,
    schedule: Schedule,
    due: dt.datetime,
    slot_index: int | None,
) -> None:
    """Residents with their own times (few) get their own due time for a scheduled slot."""
    if slot_index is None:
        return
    query = (
        select(CheckIn.id, Resident.preferred_times)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .where(CheckIn.round_id == round_.id, Resident.preferred_times.is_not(None))
    )
    changes = []
    for checkin_id, preferred in session.execute(query).all():
        when = _preferred_due(preferred, schedule, round_.local_date, due, slot_index)
        if when != due:
            changes.append({"id": checkin_id, "next_attempt_at": when})
    if changes:
        session.execute(update(CheckIn), changes)


def _preferred_due(
    preferred: str | None, schedule: Schedule, day: dt.date, due: dt.datetime, slot_index: int
) -> dt.datetime:
    """The resident's own time for this slot if it is inside the window; the slot time
    otherwise (a time after the window closes would never be called at all)."""
    try:
        own = parse_times(preferred or "")
    except ValueError:
        return due
    if slot_index < len(own):
        when = schedule.at(day, own[slot_index])
        return when if schedule.in_window(when) else due
    return due


def _supersede_open_checkins(
    session: Session,
    round_: Round,
    only: list[int] | None,
    settings: Settings,
    now: dt.datetime,
    max_attempts: int,
) -> int:
    """A new round replaces an older one still open for the same resident, so nobody is
    called for two rounds at once. One not yet dialled today moves into the new round: nobody
    tried, so nothing was missed (a large community may still be dialling the 09:00 round at
    16:00). One waiting for a retry closes as missed now; one in a call closes when it ends.
    Returns how many moved."""
    residents = select(Resident.id).where(Resident.community_id == round_.community_id)
    if only is not None:
        residents = residents.where(Resident.id.in_(only))
    query = select(CheckIn).where(
        CheckIn.status == "pending",
        CheckIn.round_id != round_.id,
        CheckIn.resident_id.in_(residents),
    )
    moved = 0
    for older in session.scalars(query):
        if older.next_attempt_at is None:
            older.max_attempts = older.attempts
        elif older.attempts == 0 and older.local_date == round_.local_date:
            older.round_id = round_.id
            older.next_attempt_at = round_.scheduled_for
            older.closes_at = round_.closes_at
            older.max_attempts = max_attempts
            older.updated_at = now
            moved += 1
        else:
            close_missed(session, older, settings, now)
    if moved:
        session.flush()
        log.info("round %s: %d check-ins not yet dialled moved into it", round_.id, moved)
    return moved


def _reached_or_open(day: dt.date) -> Select[int]:
    """A check-in of that day that is completed, or still open (in flight, or waiting)."""
    return select(CheckIn.id).where(
        CheckIn.resident_id == Resident.id,
        CheckIn.local_date == day,
        CheckIn.status.in_((*COMPLETED, "pending")),
    )


def _take_over_unreached(
    session: Session,
    round_: Round,
    only: list[int] | None,
    now: dt.datetime,
    max_attempts: int,
) -> int:
    """A forced round calls now the residents another round has not reached yet: their open
    check-ins of the day move into it with their history and a fresh set of attempts, rather
    than closing as missed. A check-in with a call in flight stays where it is, and so does one
    of a resident who already completed a check-in today. Returns how many moved."""
    residents = select(Resident.id).where(Resident.community_id == round_.community_id)
    if only is not None:
        residents = residents.where(Resident.id.in_(only))
    completed = select(CheckIn.id).where(
        CheckIn.resident_id == Resident.id,
        CheckIn.local_date == round_.local_date,
        CheckIn.status.in_(COMPLETED),
    )
    query = select(CheckIn).where(
        CheckIn.status == "pending",
        CheckIn.round_id != round_.id,
        CheckIn.local_date == round_.local_date,
        CheckIn.next_attempt_at.is_not(None),
        CheckIn.resident_id.in_(residents.where(~completed.exists())),
    )
    moved = 0
    for older in session.scalars(query):
        older.round_id = round_.id
        older.next_attempt_at = round_.scheduled_for
        older.closes_at = round_.closes_at
        older.max_attempts = older.attempts + max_attempts
        older.updated_at = now
        moved += 1
    if moved:
        session.flush()
        log.info("round %s: %d open check-ins not yet reached moved into it", round_.id, moved)
    return moved


@dataclass(frozen=True)
class Running:
    """A round with check-ins still open, and how far it has got."""

    round: Round
    reached: int  # check-ins completed (complete or partial)
    total: int

    def sentence(self, community: str) -> str:
        return (
            f"{community}: round {self.round.slot} is still running "
            f"({self.reached} of {self.total} reached); "
            f"use --force to call the residents not yet reached"
        )


def running_round(session: Session, community: Community) -> Running | None:
    """The community's latest round that still has an open check-in, if any."""
    open_checkin = select(CheckIn.id).where(
        CheckIn.round_id == Round.id, CheckIn.status == "pending"
    )
    round_ = session.scalars(
        select(Round)
        .where(Round.community_id == community.id, open_checkin.exists())
        .order_by(Round.started_at.desc(), Round.id.desc())
        .limit(1)
    ).first()
    if round_ is None:
        return None
    reached, total = session.execute(
        select(
            func.count(case((CheckIn.status.in_(COMPLETED), 1))),
            func.count(),
        ).where(CheckIn.round_id == round_.id)
    ).one()
    return Running(round_, int(reached), int(total))


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


def slot_half(schedule: Schedule, day: dt.date, index: int) -> tuple[dt.datetime, dt.datetime]:
    """The part of the local ``day`` that slot ``index`` answers for, as [start, end): from
    midway between the previous slot and this one (local midnight for the first slot) to midway
    between this one and the next (the end of the day for the last). With 09:00 and 16:00:
    [00:00, 12:30) and [12:30, 24:00)."""
    instants = [schedule.at(day, time) for time in schedule.round_times]
    start = schedule.at(day, dt.time()) if index == 0 else _midway(*instants[index - 1 : index + 1])
    last = index == len(instants) - 1
    end = schedule.at(day, dt.time.max) if last else _midway(*instants[index : index + 2])
    return start, end


def _midway(earlier: dt.datetime, later: dt.datetime) -> dt.datetime:
    return earlier + (later - earlier) / 2


def start_due_rounds(session: Session, settings: Settings, now: dt.datetime) -> list[Started]:
    """Start, for every community, the round whose time has come (if not started already).

    A catch-up round (started more than ``CATCH_UP_AFTER_S`` after its time) never calls a
    resident who already completed a check-in in that slot's half of the day (``slot_half``),
    by a call-back, a call staff placed, or one staff recorded while no worker ran.
    """
    started = []
    for community in session.scalars(select(Community).order_by(Community.id)):
        schedule = schedule_for(community, settings)
        slot = due_slot(schedule, now)
        if slot is None or _later_round_exists(session, community, schedule, slot[0], now):
            continue
        day = schedule.local_date(now)
        late = now - schedule.clamp(day, slot[2]) > dt.timedelta(seconds=CATCH_UP_AFTER_S)
        half = slot_half(schedule, day, slot[1]) if late else None
        if half is not None:
            log.info(
                "%s %s is a catch-up round: residents who completed a check-in since %s "
                "are not called",
                community.name,
                slot[0],
                half[0].astimezone(schedule.tz).strftime("%H:%M"),
            )
        result = start_round(
            session,
            community,
            slot[0],
            slot[2],
            settings,
            now,
            slot_index=slot[1],
            skip_completed_in=half,
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
    unreached_only: bool = False,
) -> Started | None:
    """``pingan round start``: a round right now, outside the regular slots (``--force``:
    ``unreached_only``, see ``start_round``)."""
    local = now.astimezone(settings.tz)
    slot = f"manual-{local:%H%M%S}"
    return start_round(
        session,
        community,
        slot,
        now,
        settings,
        now,
        only=only,
        max_attempts=max_attempts,
        unreached_only=unreached_only,
    )
