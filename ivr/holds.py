"""Releasing a resident or pausing their calls, from the CLI or the dashboard alike.

Either one also stops the calls already planned: a resident taken to hospital at 10:00 must
not be called at 10:10 and then escalated as unreachable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ivr import audit
from ivr.settle import stop_calls
from storage import Resident


def release(
    session: Session, resident: Resident, reason: str, actor: str, now: dt.datetime
) -> None:
    resident.released_at, resident.release_reason, resident.updated_at = now, reason, now
    audit.record(session, now, actor, "released", "resident", resident.id, reason)
    stop_calls(session, resident, now)


def hold(
    session: Session,
    resident: Resident,
    until: dt.date,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> None:
    """No calls up to and including local date ``until``."""
    resident.hold_until, resident.hold_reason, resident.updated_at = until, reason, now
    audit.record(session, now, actor, "hold", "resident", resident.id, f"until {until}: {reason}")
    stop_calls(session, resident, now)
