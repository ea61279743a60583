"""Releasing a resident or pausing their calls, from the CLI or the dashboard alike.

Either one also stops the calls already planned: a resident taken to hospital at 10:00 must
not be called at 10:10 and then escalated as unreachable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import audit
from ivr.config import Settings
from ivr.dial_errors import end_unplaced
from ivr.settle import stop_calls
from storage import CallAttempt, Resident


def release(
    session: Session,
    resident: Resident,
    reason: str,
    actor: str,
    settings: Settings,
    now: dt.datetime,
) -> None:
    resident.released_at, resident.release_reason, resident.updated_at = now, reason, now
    audit.record(session, now, actor, "released", "resident", resident.id, reason)
    _stop_planned_calls(session, resident, settings, now)


def hold(
    session: Session,
    resident: Resident,
    until: dt.date,
    reason: str,
    actor: str,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """No calls up to and including local date ``until``."""
    resident.hold_until, resident.hold_reason, resident.updated_at = until, reason, now
    audit.record(session, now, actor, "hold", "resident", resident.id, f"until {until}: {reason}")
    _stop_planned_calls(session, resident, settings, now)


def _stop_planned_calls(
    session: Session, resident: Resident, settings: Settings, now: dt.datetime
) -> None:
    stop_calls(session, resident, now)
    # A call queued for the dialer but not yet claimed is withdrawn too; one a dialer has
    # already claimed (skipped here) is placed, and gets no retry.
    queued = (
        select(CallAttempt)
        .where(CallAttempt.resident_id == resident.id, CallAttempt.state == "queued")
        .with_for_update(skip_locked=True)
    )
    for attempt in session.scalars(queued):
        end_unplaced(session, attempt, settings, now)
