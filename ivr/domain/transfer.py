"""Pressing 0: the resident is put through to a person, one screened leg at a time.

1. The numbers, in order: the staff on duty for the resident's community right now (the duty
   roster, ``ivr.domain.staff.on_duty``), then the community's duty phone, then
   ``PINGAN_DUTY_PHONE``
   (a caller we could not identify has only the last). A number is dialled once.
2. Each leg is ``<Dial action=…/dial?leg=N><Number url=…/screen?leg=N>``: whoever picks up hears
   "平安热线：居民 张桂兰 请求通话，接听请按 1" and is connected only by pressing 1; voicemail or no
   key hangs the leg up. The leg's ``DialCallStatus`` says ``completed`` whenever *something*
   answered, so what counts is the screen's answer, kept as a call event.
3. The Dial action of a leg nobody accepted dials the next number; after the last one the flow
   hears that the transfer failed ("staff will call back", ``callback_requested``).

Every leg, its screen answer and its end are call events: the call's timeline shows the transfer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain.staff import on_duty
from ivr.phones import mask_phone
from storage import CallAttempt, CallEvent

log = logging.getLogger(__name__)

ACCEPT_KEY = "1"
SCREEN_TIMEOUT_S = 8


def numbers(
    session: Session, attempt: CallAttempt, settings: Settings, now: dt.datetime
) -> list[str]:
    """Whom a transfer of ``attempt`` rings, first to last."""
    found: list[str | None] = []
    resident = attempt.resident
    if resident is not None:
        found += [s.phone for s in on_duty(session, resident.community_id, now, settings.tz)]
        found.append(resident.community.duty_phone)
    found.append(settings.duty_phone)
    return list(dict.fromkeys(n for n in found if n))


def number_of_leg(
    session: Session, attempt: CallAttempt, leg: int, settings: Settings, now: dt.datetime
) -> str | None:
    legs = numbers(session, attempt, settings, now)
    return legs[leg] if 0 <= leg < len(legs) else None


def ringing(
    session: Session, attempt: CallAttempt, leg: int, number: str, now: dt.datetime
) -> None:
    _event(session, attempt, now, "ringing", leg, number)
    log.info("attempt %s: transfer leg %d rings %s", attempt.id, leg + 1, mask_phone(number))


def is_leg_of(attempt: CallAttempt, form: Mapping[str, str]) -> bool:
    """A screen request comes from the dialed leg, whose parent is this attempt's call."""
    return bool(attempt.call_sid) and form.get("ParentCallSid") == attempt.call_sid


def screened(
    session: Session, attempt: CallAttempt, leg: int, digits: str, now: dt.datetime
) -> bool:
    """The answer to the screen: True connects the resident, anything else hangs the leg up."""
    accepted = digits == ACCEPT_KEY
    _event(session, attempt, now, "accepted" if accepted else "declined", leg, digits or "-")
    log.info(
        "attempt %s: transfer leg %d %s (keys %r)",
        attempt.id,
        leg + 1,
        "accepted" if accepted else "not accepted",
        digits[:5],
    )
    return accepted


def leg_ended(
    session: Session,
    attempt: CallAttempt,
    leg: int,
    status: str,
    settings: Settings,
    now: dt.datetime,
) -> int | str:
    """A leg's Dial action: the next leg to ring, or the transfer's result for the flow
    (``completed`` when a person accepted, ``no-answer`` when nobody did)."""
    _event(session, attempt, now, status[:16] or "failed", leg)
    if _accepted(session, attempt, leg):
        return "completed"
    if number_of_leg(session, attempt, leg + 1, settings, now) is not None:
        return leg + 1
    _event(session, attempt, now, "nobody_accepted", leg)
    log.warning("attempt %s: nobody accepted the transfer after %d legs", attempt.id, leg + 1)
    return "no-answer"


def _accepted(session: Session, attempt: CallAttempt, leg: int) -> bool:
    query = select(CallEvent.id).where(
        CallEvent.attempt_id == attempt.id,
        CallEvent.kind == "dial",
        CallEvent.name == "accepted",
        CallEvent.detail.startswith(f"leg {leg + 1}:"),
    )
    return session.scalar(query.limit(1)) is not None


def _event(
    session: Session,
    attempt: CallAttempt,
    now: dt.datetime,
    name: str,
    leg: int,
    what: str = "",
) -> None:
    detail = f"leg {leg + 1}: {what}" if what else f"leg {leg + 1}"
    session.add(CallEvent(attempt_id=attempt.id, at=now, kind="dial", name=name, detail=detail))
