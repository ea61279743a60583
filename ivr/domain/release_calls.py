"""The release call: one short call telling a resident released early whom no text can reach.

Staff release a resident before their last day (``holds.release``) with "tell them" ticked:
a mobile is texted; a number no text reaches (a landline, or any number that is not a mobile,
``phones.can_text``) gets this call instead, ``callflows/release.toml``: the release message,
``*`` to hear it again, any key or silence ends with goodbye. Unticked, neither is sent.

The call is an ordinary ``CallAttempt`` with ``flow_name`` "release" and no check-in, so it runs
on the same webhooks as a check-in call on either carrier (``ivr.domain.calls``), its timeline is
on the resident's page, and the check-in dialer and sweeper leave its queue alone:

1. ``queue``: one ``queued`` row, due now, or when the community's calling window next opens
   (``PINGAN_CALL_WINDOW`` or the community's own): nobody is called outside it.
2. ``claim_due``: ``queued`` → ``dialing`` with a conditional UPDATE, so two workers never both
   take it; a row found outside the window is moved to the next opening instead, and one whose
   resident was resumed meanwhile is cancelled. The call is placed outside any transaction
   through the ``Carrier`` seam; a refusal ends it as failed and it is never placed again.
3. ``ended`` (from ``calls.finish_call``): answered by a person (heard to the end, or hung up
   during it), the resident was told. A line that rang out or was busy is tried once more
   ``RETRY_AFTER`` later (inside the window); otherwise, and after the second try, staff are
   told to phone: the same warning as for a text that cannot be sent, in the log and the audit
   trail (``release_call_unreached``), shown on the resident's page. A voicemail counts as not
   reached: it hears the message, but nobody knows that the resident did.
4. ``give_up_stuck``: a claim never placed (a worker died holding it) is ended as ``lost``
   after ``STUCK_AFTER_S`` (staff told), never placed late: it might ring twice otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from callflows import RELEASE_FLOW, Flow, load_flow
from ivr.carriers.telephony import Carrier, OutboundCall
from ivr.clock import Clock
from ivr.config import Settings
from ivr.domain import audit, placing
from ivr.domain.schedule import schedule_for
from ivr.phones import can_text, mask_phone
from storage import AuditEntry, CallAttempt, Resident

if TYPE_CHECKING:
    from ivr.domain.calls import CallEnv

log = logging.getLogger(__name__)

FLOW_NAME = "release"
MAX_CALLS = 2  # the call and one retry of a line that rang out or was busy
RETRIED = ("no-answer", "busy")
RETRY_AFTER = dt.timedelta(minutes=30)
TIME_LIMIT_S = 120  # a few sentences; longer is a stuck line
STUCK_AFTER_S = 600  # a claim not placed this long after it was taken: its worker is gone
REACHED = ("heard", "hung_up")  # a person picked up and heard (at least the start of) it
UNREACHED = "release_call_unreached"  # the audit action that asks staff to phone


class Urls(Protocol):
    """The check-in call's webhook URLs (``ivr.worker.dialer.Urls``): the same webhooks."""

    def answer(self, code: str) -> str: ...

    def status(self, code: str) -> str: ...

    def fallback(self, lang: str) -> str: ...


@functools.cache
def release_flow() -> Flow:
    return load_flow(RELEASE_FLOW)


def is_release_call(attempt: CallAttempt) -> bool:
    return attempt.flow_name == FLOW_NAME and attempt.checkin_id is None


def flow_env(attempt: CallAttempt, env: CallEnv) -> CallEnv:
    """The environment a release call's events run in: its own flow."""
    return dataclasses.replace(env, flow=release_flow()) if is_release_call(attempt) else env


def needs_call(phone: str) -> bool:
    """No text reaches this number, so an early release is told by a call."""
    return not can_text(phone)


def next_allowed(resident: Resident, settings: Settings, when: dt.datetime) -> dt.datetime:
    """``when`` if it is inside the resident's calling window, else the window's next opening."""
    schedule = schedule_for(resident.community, settings)
    if schedule.in_window(when):
        return when
    day = schedule.local_date(when)
    opens = schedule.opens(day)
    return opens if when < opens else schedule.opens(day + dt.timedelta(days=1))


def queue(
    session: Session,
    resident: Resident,
    settings: Settings,
    now: dt.datetime,
    call_no: int = 1,
    not_before: dt.datetime | None = None,
) -> CallAttempt:
    """Queue call ``call_no`` to tell ``resident`` they were released (not before the window)."""
    due = next_allowed(resident, settings, not_before or now)
    attempt = CallAttempt(
        code=secrets.token_urlsafe(18),
        checkin_id=None,
        resident_id=resident.id,
        attempt_no=call_no,
        direction="outbound",
        phone=resident.phone,
        language=resident.language,
        state="queued",
        due_at=due,
        flow_name=FLOW_NAME,
        created_at=now,
    )
    session.add(attempt)
    at = due.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    audit.record(session, now, audit.SYSTEM, "release_call_queued", "resident", resident.id,
                 f"call {call_no} at {at}")  # fmt: skip
    log.info("resident %s released early: release call %d queued for %s", resident.id, call_no, at)
    return attempt


def claim_due(
    session: Session, settings: Settings, now: dt.datetime, worker: str, limit: int = 20
) -> list[CallAttempt]:
    """Claim the release calls due now for this worker (each by exactly one worker)."""
    query = (
        select(CallAttempt)
        .where(
            CallAttempt.flow_name == FLOW_NAME,
            CallAttempt.checkin_id.is_(None),
            CallAttempt.state == "queued",
            CallAttempt.due_at <= now,
        )
        .order_by(CallAttempt.due_at, CallAttempt.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for attempt in session.scalars(query).all():
        resident = attempt.resident
        if resident is None or resident.released_at is None:  # resumed before the call
            _end_unplaced(session, attempt, "cancelled", settings, now)
            continue
        due = next_allowed(resident, settings, now)
        if due > now:  # the window closed while it waited (a worker down, say)
            attempt.due_at = due
            log.info("release call %s moved to %s: outside calling hours", attempt.id, due)
            continue
        result = session.execute(
            update(CallAttempt)
            .where(CallAttempt.id == attempt.id, CallAttempt.state == "queued")
            .values(state="dialing", claimed_by=worker, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(attempt)
    return claimed


def give_up_stuck(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Claims never placed are ended as ``lost`` (see the module docstring)."""
    cutoff = now - dt.timedelta(seconds=STUCK_AFTER_S)
    stuck = list(
        session.scalars(
            select(CallAttempt)
            .where(
                CallAttempt.flow_name == FLOW_NAME,
                CallAttempt.checkin_id.is_(None),
                CallAttempt.state == "dialing",
                CallAttempt.call_sid.is_(None),
                CallAttempt.claimed_at < cutoff,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for attempt in stuck:
        log.warning("release call %s: claimed but never placed; not placed late", attempt.id)
        _end_unplaced(session, attempt, "lost", settings, now)
    return len(stuck)


def _end_unplaced(
    session: Session, attempt: CallAttempt, why: str, settings: Settings, now: dt.datetime
) -> None:
    attempt.state, attempt.outcome, attempt.ended_at = "ended", why, now
    ended(session, attempt, settings, now)


def result_of(attempt: CallAttempt) -> str:
    """How the call went, in the audit trail's words: heard, hung_up, machine, no-answer,
    busy, failed, canceled (by the carrier), cancelled (resumed before it), lost."""
    outcome = attempt.outcome
    if outcome == "finished":
        return "heard"
    if outcome in ("hung_up", "machine", "cancelled", "lost"):
        return outcome
    if outcome == "not_placed":
        return "failed"
    return attempt.status if attempt.status and attempt.status != "completed" else "failed"


def ended(session: Session, attempt: CallAttempt, settings: Settings, now: dt.datetime) -> None:
    """The call is over: note how; try a rung-out line once more, else ask staff to phone."""
    resident = attempt.resident
    if resident is None:
        return
    result = result_of(attempt)
    audit.record(session, now, audit.SYSTEM, "release_call_ended", "resident", resident.id,
                 f"call {attempt.attempt_no}: {result}")  # fmt: skip
    if result in REACHED or result == "cancelled":
        log.info("release call %s to resident %s: %s", attempt.id, resident.id, result)
        return
    if result in RETRIED and attempt.attempt_no < MAX_CALLS and resident.released_at:
        queue(session, resident, settings, now, attempt.attempt_no + 1, now + RETRY_AFTER)
        return
    tell_staff(session, resident, result, now)


def tell_staff(session: Session, resident: Resident, why: str, now: dt.datetime) -> None:
    """Nothing Pingan can send reached the resident: staff must tell them themselves."""
    log.warning(
        "resident %s released early on a landline (%s): the release call was not answered"
        " (%s), staff are asked to tell them",
        resident.id,
        mask_phone(resident.phone),
        why,
    )
    audit.record(session, now, audit.SYSTEM, UNREACHED, "resident", resident.id, why)


def staff_must_phone(session: Session, resident_id: int) -> bool:
    """Is the last word on the resident's release calls that staff must phone them?"""
    query = (
        select(AuditEntry.action)
        .where(
            AuditEntry.entity == "resident",
            AuditEntry.entity_id == resident_id,
            AuditEntry.action.in_(("release_call_queued", "release_call_ended", UNREACHED)),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return session.scalar(query) == UNREACHED


@dataclass
class ReleaseCaller:
    """One worker's release caller: ``run_once`` claims and places the release calls due now."""

    sessions: sessionmaker[Session]
    carrier: Carrier
    clock: Clock
    settings: Settings
    urls: Callable[[], Urls]
    worker: str

    def run_once(self) -> int:
        from ivr.worker import halt  # the dialer's halt (bad credentials) stops these too

        with self.sessions.begin() as session:
            if halt.is_halted(session):
                return 0
            now = self.clock.now()
            give_up_stuck(session, self.settings, now)
            requests = {
                a.id: self._request(a) for a in claim_due(session, self.settings, now, self.worker)
            }
        return sum(self._place(attempt_id, r) for attempt_id, r in requests.items())

    def _request(self, attempt: CallAttempt) -> OutboundCall:
        urls = self.urls()
        return OutboundCall(
            to=attempt.phone or "",
            from_=self.settings.caller_id,
            url=urls.answer(attempt.code),
            status_callback=urls.status(attempt.code),
            fallback_url=urls.fallback(attempt.language),
            timeout_s=self.settings.ring_timeout_s,
            time_limit_s=TIME_LIMIT_S,
            machine_detection=self.settings.machine_detection,
        )

    def _place(self, attempt_id: int, request: OutboundCall) -> int:
        sid = placing.place_claimed(
            self.sessions, self.carrier, self.clock, CallAttempt, attempt_id, request, self._refused
        )
        if sid is None:
            return 0
        log.info("release call %s placed: call %s", attempt_id, sid)
        return 1

    def _refused(self, session: Session, attempt: CallAttempt, why: str) -> None:
        attempt.carrier_error = why[:300]
        log.warning("release call %s refused: %s", attempt.id, attempt.carrier_error)
        _end_unplaced(session, attempt, "not_placed", self.settings, self.clock.now())
