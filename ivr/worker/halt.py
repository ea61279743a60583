"""A dialing halt shared by every worker (set when the carrier rejects our credentials)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage import SystemState

HALT_KEY = "dialing_halted"


def is_halted(session: Session) -> bool:
    return halt_reason(session) is not None


def halt_reason(session: Session) -> str | None:
    row = session.get(SystemState, HALT_KEY)
    return row.value if row is not None and row.value else None


def halt(session: Session, reason: str, now: dt.datetime) -> None:
    row = session.get(SystemState, HALT_KEY)
    if row is None:
        session.add(SystemState(key=HALT_KEY, value=reason, at=now))
    else:
        row.value, row.at = reason, now


def resume(session: Session) -> bool:
    row = session.get(SystemState, HALT_KEY)
    if row is None or not row.value:
        return False
    row.value = None
    return True
