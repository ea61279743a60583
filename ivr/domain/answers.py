"""Storing answers the moment they are keyed, and acting on them: escalations and orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows import AnswerValue, Flow
from callflows.rules import Thresholds, findings
from ivr.config import Settings
from ivr.domain import households
from ivr.domain.escalations import raise_escalation, recover
from ivr.domain.orders import open_orders
from storage import Answer, CallAttempt, CheckIn, Resident


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        fever_c=settings.fever_c,
        high_fever_c=settings.high_fever_c,
        low_c=settings.low_temperature_c,
        rising_delta_c=settings.rising_delta_c,
        rising_from_c=settings.rising_from_c,
    )


def store_answers(
    session: Session,
    attempt: CallAttempt,
    answers: tuple[AnswerValue, ...],
    flow: Flow,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Keep each answer as a row and on the check-in, then escalate what needs a person.
    On a household call each answer goes to the member it was given for (``member``); the
    household's own (needs, a transfer) to the attempt's check-in."""
    for position in dict.fromkeys(a.member or 0 for a in answers):
        given = tuple(a for a in answers if (a.member or 0) == position)
        checkin, resident = attempt.checkin, attempt.resident
        member = households.member_at(session, attempt, position) if position else None
        if member is not None:
            checkin, resident = member.checkin, member.resident
        _keep(session, attempt, checkin, resident, given, flow, settings, now)


def _keep(
    session: Session,
    attempt: CallAttempt,
    checkin: CheckIn | None,
    resident: Resident | None,
    answers: tuple[AnswerValue, ...],
    flow: Flow,
    settings: Settings,
    now: dt.datetime,
) -> None:
    for answer in answers:
        session.add(
            Answer(
                checkin_id=checkin.id if checkin else None,
                attempt_id=attempt.id,
                resident_id=resident.id if resident else attempt.resident_id,
                key=answer.key,
                value=answer.value,
                confirmed=answer.confirmed,
                at=now,
            )
        )
    pairs = [(a.key, a.value) for a in answers]
    unconfirmed = frozenset(a.key for a in answers if not a.confirmed)
    apply_answers(session, resident, checkin, pairs, flow, settings, now, unconfirmed)


def apply_answers(
    session: Session,
    resident: Resident | None,
    checkin: CheckIn | None,
    pairs: Sequence[tuple[str, Any]],
    flow: Flow,
    settings: Settings,
    now: dt.datetime,
    unconfirmed: frozenset[str] = frozenset(),
    via: str | None = None,
) -> None:
    """What answers lead to, however they arrived (a call, a chat, or staff on the resident's
    behalf): the check-in's columns, escalations by the rules, and a service order per need.
    ``unconfirmed`` names answers keyed but never confirmed: they count all the same. A
    temperature means the resident was heard from: an open "unreachable" clears (``recover``,
    whose note says how: ``via``, else the check-in's source)."""
    previous = _previous_temperature(session, checkin) if checkin else None
    if checkin is not None:
        for key, value in pairs:
            _apply_to_checkin(checkin, key, value, now, confirmed=key not in unconfirmed)
    if resident is None:
        return
    for found in findings(flow, pairs, previous, thresholds(settings), unconfirmed):
        raise_escalation(
            session,
            resident,
            found.reason,
            found.severity,
            found.detail,
            now,
            checkin=checkin,
            temperature=checkin.temperature_c if checkin else None,
            settings=settings,
            fact=found.fact or None,
        )
    if checkin is not None and _heard_from(checkin):
        recover(session, checkin, settings, now, via)
    needs = [str(v) for key, value in pairs if key == "needs" for v in _listed(value)]
    if needs:
        open_orders(session, checkin or resident, needs, now, settings.tz)


def _heard_from(checkin: CheckIn) -> bool:
    """A temperature keyed, or staff recording a check-in after a visit or a phone call (even
    one with only needs): either way somebody reached the resident."""
    return checkin.temperature_c is not None or checkin.source == "staff"


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _apply_to_checkin(
    checkin: CheckIn, key: str, value: Any, now: dt.datetime, *, confirmed: bool
) -> None:
    """The standard answers also live on the check-in, where lists and exports read them."""
    if key == "temperature_c":
        checkin.temperature_c = Decimal(str(value))
        checkin.temperature_confirmed = confirmed
    elif key == "symptoms":
        checkin.symptoms = bool(value)
    elif key == "needs" and value not in checkin.needs:
        checkin.needs = [*checkin.needs, value]
    elif key == "callback_requested":
        checkin.callback_requested = bool(value)
    checkin.updated_at = now


def _previous_temperature(session: Session, checkin: CheckIn) -> Decimal | None:
    query = (
        select(CheckIn.temperature_c)
        .where(
            CheckIn.resident_id == checkin.resident_id,
            CheckIn.id != checkin.id,
            CheckIn.temperature_c.is_not(None),
            CheckIn.created_at <= checkin.created_at,
        )
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(1)
    )
    return session.scalar(query)
