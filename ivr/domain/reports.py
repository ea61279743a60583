"""Stored check-ins, calls and escalations as plain rows (the CLI's tables and ``--json``).

Field names are a contract with operators' scripts: keep them as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callflows import Flow
from storage import (
    Answer,
    CallAttempt,
    CallEvent,
    CheckIn,
    Community,
    Escalation,
    Resident,
    Round,
)

_CHUNK = 500


def list_answer_keys(flow: Flow) -> frozenset[str]:
    """Answers that hold several values: the flow's multi-choice menus, and always ``needs``
    (the built-in menu), so check-ins keyed under an earlier flow still read as lists."""
    return frozenset(["needs", *flow.list_answer_keys()])


def _local(when: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return when.astimezone(tz).isoformat(timespec="seconds") if when else None


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def checkin_rows(
    session: Session,
    tz: dt.tzinfo,
    day: dt.date | None = None,
    community: str | None = None,
    *,
    flow: Flow,
) -> list[dict[str, Any]]:
    """One row per check-in; ``answers`` holds every answer of any flow (key → value; a
    multi-choice answer, as the ``flow`` tells, is a list)."""
    query = (
        select(CheckIn, Resident, Community, Round)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .join(Community, Community.id == Resident.community_id)
        .outerjoin(Round, Round.id == CheckIn.round_id)
        .order_by(CheckIn.local_date, Community.name, Resident.name, CheckIn.id)
    )
    if day is not None:
        query = query.where(CheckIn.local_date == day)
    if community:
        query = query.where(Community.name == community)
    found = session.execute(query).all()
    answers = answers_by_checkin(session, [c.id for c, *_ in found], list_answer_keys(flow))
    return [
        {
            "id": c.id,
            "phone": r.phone,
            "name": r.name,
            "community": m.name,
            "date": c.local_date.isoformat(),
            "round": rd.slot if rd else None,
            "status": c.status,
            "temperature_c": _number(c.temperature_c),
            "temperature_confirmed": (
                c.temperature_confirmed if c.temperature_c is not None else None
            ),
            "symptoms": c.symptoms,
            "needs": list(c.needs or []),
            "callback_requested": c.callback_requested,
            "attempts": c.attempts,
            "source": c.source,
            "answers": answers[c.id],
        }
        for c, r, m, rd in found
    ]


def answers_by_checkin(
    session: Session, checkin_ids: Iterable[int], list_keys: Collection[str]
) -> dict[int, dict[str, Any]]:
    """Each check-in's answers as keyed, in order: the latest value wins, lists collect."""
    ids = list(checkin_ids)
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(Answer.checkin_id, Answer.key, Answer.value)
            .where(Answer.checkin_id.in_(ids[start : start + _CHUNK]))
            .order_by(Answer.at, Answer.id)
        )
        for checkin_id, key, value in session.execute(query):
            answers = out[checkin_id]
            if key not in list_keys:
                answers[key] = value
            elif value not in answers.setdefault(key, []):
                answers[key].append(value)
    return out


def call_rows(
    session: Session, tz: dt.tzinfo, day: dt.date | None = None, community: str | None = None
) -> list[dict[str, Any]]:
    query = (
        select(CallAttempt)
        .options(
            selectinload(CallAttempt.events),
            selectinload(CallAttempt.resident).selectinload(Resident.community),
        )
        .order_by(CallAttempt.created_at, CallAttempt.id)
    )
    if day is not None:
        query = query.join(CheckIn, CheckIn.id == CallAttempt.checkin_id).where(
            CheckIn.local_date == day
        )
    if community:
        query = (
            query.join(Resident, Resident.id == CallAttempt.resident_id)
            .join(Community, Community.id == Resident.community_id)
            .where(Community.name == community)
        )
    return [_call_row(a, tz) for a in session.scalars(query)]


def _call_row(attempt: CallAttempt, tz: dt.tzinfo) -> dict[str, Any]:
    resident = attempt.resident
    return {
        "id": attempt.id,
        "call_sid": attempt.call_sid,
        "phone": attempt.phone,
        "name": resident.name if resident else None,
        "community": resident.community.name if resident else None,
        "direction": attempt.direction,
        "attempt": attempt.attempt_no,
        "status": attempt.status,
        "answered_by": attempt.answered_by,
        "duration_s": attempt.duration_s,
        "started_at": _local(attempt.placed_at or attempt.answered_at, tz),
        "outcome": attempt.outcome,
        "keys": keys_of(attempt.events),
        "error": attempt.carrier_error,
    }


def keys_of(events: list[CallEvent]) -> list[dict[str, str]]:
    """What was keyed, step by step (silence shows as an empty entry)."""
    return [
        {"step": e.name, "keys": e.detail or ""} for e in events if e.kind in ("key", "silence")
    ]


def escalation_rows(
    session: Session, tz: dt.tzinfo, status: str | None = None, community: str | None = None
) -> list[dict[str, Any]]:
    query = (
        select(Escalation, Resident, Community)
        .join(Resident, Resident.id == Escalation.resident_id)
        .join(Community, Community.id == Escalation.community_id)
        .order_by(Escalation.opened_at, Escalation.id)
    )
    if status:
        query = query.where(Escalation.status == status)
    if community:
        query = query.where(Community.name == community)
    return [
        {
            "id": e.id,
            "phone": r.phone,
            "name": r.name,
            "community": m.name,
            "address": r.address,
            "reason": e.reason,
            "severity": e.severity,
            "status": e.status,
            "opened_at": _local(e.opened_at, tz),
            "detail": e.detail,
            "facts": e.facts,
            "temperature_c": _number(e.temperature_c),
            "temperature_confirmed": (
                e.temperature_confirmed if e.temperature_c is not None else None
            ),
            "events": e.events,
            "acknowledged_by": e.acknowledged_by,
            "acknowledged_at": _local(e.acknowledged_at, tz),
            "resolved_by": e.resolved_by,
            "resolved_at": _local(e.resolved_at, tz),
            "outcome": e.outcome,
            "note": e.note,
        }
        for e, r, m in session.execute(query)
    ]
