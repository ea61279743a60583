"""Opening escalations: at most one unresolved per resident and reason, every event kept.

A new event for a reason that is already open (or acknowledged) is added to that escalation; after
it is resolved, the next event opens a new one. The database enforces the "one unresolved" rule
with a partial unique index, so two webhooks racing for the same resident cannot both insert.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr import audit
from storage import CheckIn, Escalation, Resident

log = logging.getLogger(__name__)

SEVERITY_RANK = {"normal": 0, "high": 1, "urgent": 2}


@dataclass(frozen=True)
class Raised:
    escalation: Escalation
    opened: bool  # False when the event was added to an escalation already open


def raise_escalation(
    session: Session,
    resident: Resident,
    reason: str,
    severity: str,
    detail: str,
    now: dt.datetime,
    checkin: CheckIn | None = None,
    temperature: Decimal | None = None,
) -> Raised:
    """Open an escalation for ``resident``, or add this event to the unresolved one."""
    existing = _unresolved(session, resident.id, reason)
    if existing is None:
        try:
            with session.begin_nested():
                created = Escalation(
                    resident_id=resident.id,
                    community_id=resident.community_id,
                    checkin_id=checkin.id if checkin else None,
                    reason=reason,
                    severity=severity,
                    status="open",
                    detail=detail,
                    temperature_c=temperature,
                    events=1,
                    opened_at=now,
                    last_event_at=now,
                )
                session.add(created)
            audit.record(
                session,
                now,
                audit.SYSTEM,
                "opened",
                "escalation",
                created.id,
                f"{reason} ({severity}): {detail}",
            )
            log.info(
                "escalation %s opened: %s %s for resident %s",
                created.id,
                reason,
                severity,
                resident.id,
            )
            return Raised(created, True)
        except IntegrityError:  # another transaction opened it first: join that one
            existing = _unresolved(session, resident.id, reason)
            if existing is None:
                raise
    _add_event(session, existing, severity, detail, now, temperature)
    return Raised(existing, False)


def _unresolved(session: Session, resident_id: int, reason: str) -> Escalation | None:
    query = select(Escalation).where(
        Escalation.resident_id == resident_id,
        Escalation.reason == reason,
        Escalation.status != "resolved",
    )
    return session.scalars(query.with_for_update()).first()


def _add_event(
    session: Session,
    escalation: Escalation,
    severity: str,
    detail: str,
    now: dt.datetime,
    temperature: Decimal | None,
) -> None:
    escalation.events += 1
    escalation.last_event_at = now
    escalation.detail = f"{escalation.detail}\n{detail}".strip()
    if temperature is not None:
        escalation.temperature_c = temperature
    if SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(escalation.severity, 0):
        escalation.severity = severity
    audit.record(
        session,
        now,
        audit.SYSTEM,
        "event_added",
        "escalation",
        escalation.id,
        f"{severity}: {detail}",
    )
    log.info("escalation %s: event %d added (%s)", escalation.id, escalation.events, detail)
