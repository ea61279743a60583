"""Storing answers the moment they are keyed, and opening the escalations they call for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows import AnswerValue, Flow
from callflows.rules import Thresholds, findings
from ivr.config import Settings
from ivr.escalations import raise_escalation
from storage import Answer, CallAttempt, CheckIn


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
    """Keep each answer as a row and on the check-in, then escalate what needs a person."""
    if not answers:
        return
    checkin = attempt.checkin
    previous = _previous_temperature(session, checkin) if checkin else None
    for answer in answers:
        session.add(
            Answer(
                checkin_id=checkin.id if checkin else None,
                attempt_id=attempt.id,
                resident_id=attempt.resident_id,
                key=answer.key,
                value=answer.value,
                at=now,
            )
        )
        if checkin is not None:
            _apply_to_checkin(checkin, answer, now)
    if attempt.resident is None:
        return
    pairs = [(a.key, a.value) for a in answers]
    for found in findings(flow, pairs, previous, thresholds(settings)):
        temperature = checkin.temperature_c if checkin else None
        raise_escalation(
            session,
            attempt.resident,
            found.reason,
            found.severity,
            found.detail,
            now,
            checkin=checkin,
            temperature=temperature,
        )


def _apply_to_checkin(checkin: CheckIn, answer: AnswerValue, now: dt.datetime) -> None:
    """The standard answers also live on the check-in, where lists and exports read them."""
    value: Any = answer.value
    if answer.key == "temperature_c":
        checkin.temperature_c = Decimal(str(value))
    elif answer.key == "symptoms":
        checkin.symptoms = bool(value)
    elif answer.key == "needs" and value not in checkin.needs:
        checkin.needs = [*checkin.needs, value]
    elif answer.key == "callback_requested":
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
