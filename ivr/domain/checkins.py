"""Check-ins staff record on a resident's behalf, after a visit or a phone call.

The answers count exactly as if keyed in a call: the same escalation rules, the same service
orders. The resident's open check-in for the round is closed as ``complete`` (source ``staff``)
so no more calls are placed; a call already in progress is simply left to end (settling ignores
a closed check-in). Without an open check-in, an ad-hoc one (no round) is created.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows import Flow
from ivr.config import Settings
from ivr.domain import audit
from ivr.domain.answers import apply_answers
from storage import CheckIn, Resident

log = logging.getLogger(__name__)

# What staff may record, as the call's temperature question accepts (checkin.toml min/max).
TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("42.0"))


def temperature_problem(value: Decimal) -> str | None:
    """Why ``value`` is not a body temperature to record, in English; None when it is fine.
    A reading typed without its decimal point (375) is the usual slip: suggest 37.5."""
    low, high = TEMPERATURE_RANGE
    if value.is_finite() and low <= value <= high:
        return None
    if value == value.to_integral_value() and low * 10 <= value <= high * 10:
        return f"{value} °C is outside {low}–{high}: did you mean {value / 10}?"
    return f"{value} °C is outside {low}–{high}"


def record_on_behalf(
    session: Session,
    resident: Resident,
    temperature: Decimal | None,
    symptoms: bool | None,
    needs: list[str],
    actor: str,
    now: dt.datetime,
    settings: Settings,
    flow: Flow,
    note: str | None = None,
) -> CheckIn:
    """Record the resident's answers as given to ``actor``; returns the check-in they count for."""
    checkin = _open_checkin(session, resident.id)
    if checkin is None:
        checkin = _ad_hoc(session, resident, now, settings)
        log.info("resident %s: ad-hoc check-in %s recorded by staff", resident.id, checkin.id)
    else:
        log.info("resident %s: check-in %s completed by staff", resident.id, checkin.id)
    checkin.status, checkin.source = "complete", "staff"
    checkin.closed_at, checkin.next_attempt_at = now, None
    checkin.reached = checkin.finished = True
    pairs: list[tuple[str, object]] = []
    if temperature is not None:
        pairs.append((_temperature_key(flow), temperature))
    if symptoms is not None:
        pairs.append(("symptoms", symptoms))
    pairs += [("needs", need) for need in needs]
    apply_answers(session, resident, checkin, pairs, flow, settings, now)
    detail = f"{temperature} °C, symptoms {symptoms}, needs {','.join(needs) or '-'}"
    audit.record(
        session, now, actor, "checkin_recorded", "checkin", checkin.id, f"{detail}; {note or ''}"
    )
    return checkin


def _open_checkin(session: Session, resident_id: int) -> CheckIn | None:
    query = (
        select(CheckIn)
        .where(CheckIn.resident_id == resident_id, CheckIn.status == "pending")
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .with_for_update()
    )
    return session.scalars(query).first()


def _ad_hoc(session: Session, resident: Resident, now: dt.datetime, settings: Settings) -> CheckIn:
    checkin = CheckIn(
        round_id=None,
        resident_id=resident.id,
        local_date=now.astimezone(settings.tz).date(),
        status="complete",
        attempts=0,
        max_attempts=0,
        closes_at=now,
        needs=[],
        source="staff",
        created_at=now,
        updated_at=now,
    )
    session.add(checkin)
    session.flush()
    return checkin


def _temperature_key(flow: Flow) -> str:
    """The answer the flow's temperature rules read (``temperature_c`` in the built-in flow)."""
    for step in flow.steps.values():
        if step.vital == "temperature" and step.answer:
            return step.answer
    return "temperature_c"
