"""Releasing a resident or pausing their calls, from the CLI or the dashboard alike.

Either one also stops the calls already planned: a resident taken to hospital at 10:00 must
not be called at 10:10 and then escalated as unreachable.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain import audit, release_calls
from ivr.domain.settle import stop_calls
from ivr.phones import mask_phone
from ivr.worker.dial_errors import end_unplaced
from storage import CallAttempt, Notification, Resident

log = logging.getLogger(__name__)


RELEASE_TEXT = "release"  # the kind of the resident's text (an SMS template of its own)
TEXTED, CALLED = "texted", "called"  # how an early release is told


def release(
    session: Session,
    resident: Resident,
    reason: str,
    actor: str,
    settings: Settings,
    now: dt.datetime,
    *,
    tell: str | None = None,
) -> str | None:
    """Stop calling ``resident``. Released before their last day, they are told once, unless
    staff chose not to (``tell`` None, the words of the text in their language): a mobile is
    texted ``tell``; a number no text reaches gets one short call (``release_calls``). The
    last-day call already says it to the others. Returns ``TEXTED``, ``CALLED`` (queued, to
    ring now or when the calling window opens), or None when nothing is to be told."""
    already = resident.released_at is not None
    resident.released_at, resident.release_reason, resident.updated_at = now, reason, now
    audit.record(session, now, actor, "released", "resident", resident.id, reason)
    _stop_planned_calls(session, resident, settings, now)
    if not tell or already or not _early(resident, now.astimezone(settings.tz).date()):
        return None
    if release_calls.needs_call(resident.phone):
        log.info(
            "resident %s released early on %s, which no text reaches: a release call tells them",
            resident.id,
            mask_phone(resident.phone),
        )
        release_calls.queue(session, resident, settings, now)
        return CALLED
    _queue_text(session, resident, tell, now)
    return TEXTED


def _early(resident: Resident, today: dt.date) -> bool:
    end = resident.isolation_end()
    return end is None or today < end


def _queue_text(session: Session, resident: Resident, body: str, now: dt.datetime) -> None:
    session.add(
        Notification(
            escalation_id=None,
            channel="sms",
            recipient=resident.phone,
            kind=RELEASE_TEXT,
            body=body,
            # The variables of its Alibaba Cloud template (SendSms takes no free text).
            params=json.dumps({"community": resident.community.name}, ensure_ascii=False),
            status="pending",
            tries=0,
            next_try_at=now,
            created_at=now,
        )
    )
    log.info("resident %s released early: a text tells them", resident.id)


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
    # already claimed (skipped here) is placed, and gets no retry. A release call is not the
    # dialer's: resuming the resident is what cancels it (``release_calls.claim_due``).
    queued = (
        select(CallAttempt)
        .where(
            CallAttempt.resident_id == resident.id,
            CallAttempt.state == "queued",
            CallAttempt.flow_name != release_calls.FLOW_NAME,
        )
        .with_for_update(skip_locked=True)
    )
    for attempt in session.scalars(queued):
        end_unplaced(session, attempt, settings, now)
