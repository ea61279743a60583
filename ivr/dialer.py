"""Placing calls: due check-ins become attempts, attempts are claimed once and dialed at pace.

1. ``queue_due_calls``: each due check-in is claimed with a conditional UPDATE (so two workers
   never both take it) and gets a ``queued`` attempt with an unguessable webhook code.
2. ``claim_queued``: queued attempts are claimed the same way (``queued`` → ``dialing``).
3. ``place``: wait for a global pacing slot (shared by all workers through the database), then
   ask the carrier. The attempt row exists before the request, so a crash leaves a trace.
Carrier errors: transient ones re-queue the same attempt with backoff (not counted); a bad
number closes the check-in with a ``bad_phone`` escalation; bad credentials halt all dialing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr import audit, halt
from ivr.clock import Clock
from ivr.config import Settings
from ivr.escalations import raise_escalation
from ivr.settle import settle_attempt
from ivr.telephony import Carrier, CarrierError, ErrorKind, OutboundCall
from storage import CallAttempt, CheckIn, SystemState

log = logging.getLogger(__name__)

IN_FLIGHT = ("dialing", "placed", "in_call")
PACE_KEY = "dial_pace"
MAX_BACKOFF_S = 300


@dataclass(frozen=True)
class Urls:
    """Builds the webhook URLs a call carries (the carrier calls them back)."""

    base: str

    def answer(self, code: str) -> str:
        return f"{self.base}/voice/{code}/answer"

    def status(self, code: str) -> str:
        return f"{self.base}/voice/{code}/status"


def in_flight(session: Session) -> int:
    query = select(func.count()).select_from(CallAttempt).where(CallAttempt.state.in_(IN_FLIGHT))
    return int(session.scalar(query) or 0)


def queue_due_calls(session: Session, now: dt.datetime, limit: int) -> int:
    """Turn up to ``limit`` due check-ins into queued attempts; returns how many."""
    if limit <= 0:
        return 0
    query = (
        select(CheckIn.id)
        .where(CheckIn.status == "pending", CheckIn.next_attempt_at <= now, CheckIn.closes_at > now)
        .order_by(CheckIn.priority.desc(), CheckIn.next_attempt_at, CheckIn.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    queued = 0
    for checkin_id in session.scalars(query).all():
        claimed = session.execute(
            update(CheckIn)
            .where(
                CheckIn.id == checkin_id,
                CheckIn.next_attempt_at.is_not(None),
                CheckIn.status == "pending",
            )
            .values(next_attempt_at=None, attempts=CheckIn.attempts + 1, updated_at=now)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _new_attempt(session, checkin_id, now)
            queued += 1
    return queued


def _new_attempt(session: Session, checkin_id: int, now: dt.datetime) -> None:
    checkin = session.get(CheckIn, checkin_id, populate_existing=True)
    assert checkin is not None
    resident = checkin.resident
    session.add(
        CallAttempt(
            code=secrets.token_urlsafe(18),
            checkin_id=checkin.id,
            resident_id=resident.id,
            attempt_no=checkin.attempts,
            direction="outbound",
            phone=resident.phone,
            language=resident.language,
            state="queued",
            due_at=now,
            created_at=now,
            flow_state=None,
        )
    )


def claim_queued(session: Session, now: dt.datetime, worker: str, limit: int) -> list[int]:
    """Claim up to ``limit`` queued attempts for this worker (each by exactly one worker)."""
    if limit <= 0:
        return []
    query = (
        select(CallAttempt.id)
        .join(CheckIn, CheckIn.id == CallAttempt.checkin_id)
        .where(CallAttempt.state == "queued", CallAttempt.due_at <= now)
        .order_by(CheckIn.priority.desc(), CallAttempt.due_at, CallAttempt.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=CallAttempt)
    )
    claimed = []
    for attempt_id in session.scalars(query).all():
        result = session.execute(
            update(CallAttempt)
            .where(CallAttempt.id == attempt_id, CallAttempt.state == "queued")
            .values(state="dialing", claimed_by=worker, claimed_at=now)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(attempt_id)
    return claimed


def reserve_slot(sessions: sessionmaker[Session], clock: Clock, calls_per_second: float) -> float:
    """Reserve the next dialing slot (epoch seconds) in the shared pace row; returns it.

    All workers share one row, so together they never exceed ``calls_per_second``.
    """
    interval = 1.0 / calls_per_second
    with sessions.begin() as session:
        row = session.get(SystemState, PACE_KEY, with_for_update=True)
        if row is None:
            row = SystemState(key=PACE_KEY, value="0")
            session.add(row)
            session.flush()
        now = clock.now().timestamp()
        slot = max(float(row.value or 0), now)
        row.value = repr(slot + interval)
        row.at = clock.now()
    return slot


@dataclass
class Dialer:
    """One worker's dialer. ``run_once`` places what is due now, pacing itself."""

    sessions: sessionmaker[Session]
    carrier: Carrier
    clock: Clock
    settings: Settings
    urls: Callable[[], Urls]
    worker: str

    def run_once(self) -> int:
        """Queue due check-ins, claim attempts and place them; returns calls placed."""
        with self.sessions.begin() as session:
            if halt.is_halted(session):
                return 0
            room = self.settings.max_concurrent_calls - in_flight(session)
            now = self.clock.now()
            queue_due_calls(session, now, room)
        with self.sessions.begin() as session:
            claimed = claim_queued(session, now, self.worker, room)
        placed = 0
        for attempt_id in claimed:
            placed += self._place(attempt_id)
        return placed

    def run_queued(self, attempt_id: int) -> int:
        """Claim and place one queued attempt (``pingan call``), if it is still queued."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            claimed = session.execute(
                update(CallAttempt)
                .where(
                    CallAttempt.id == attempt_id,
                    CallAttempt.state == "queued",
                    CallAttempt.due_at <= now,
                )
                .values(state="dialing", claimed_by=self.worker, claimed_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return 0
        return self._place(attempt_id)

    def _place(self, attempt_id: int) -> int:
        slot = reserve_slot(self.sessions, self.clock, self.settings.calls_per_second)
        self.clock.sleep(slot - self.clock.now().timestamp())
        with self.sessions.begin() as session:
            attempt = session.get(CallAttempt, attempt_id)
            assert attempt is not None and attempt.checkin is not None
            if halt.is_halted(session):  # another attempt just hit bad credentials
                attempt.state, attempt.claimed_by = "queued", None
                return 0
            if not self._still_wanted(session, attempt):
                return 0
            request = self._request(attempt)
        try:
            sid = self.carrier.place_call(request)
        except CarrierError as exc:
            self._failed(attempt_id, exc)
            return 0
        with self.sessions.begin() as session:
            attempt = session.get(CallAttempt, attempt_id)
            assert attempt is not None
            attempt.call_sid = attempt.call_sid or sid
            attempt.placed_at = self.clock.now()
            if attempt.state == "dialing":
                attempt.state = "placed"
        log.info("attempt %s placed: call %s", attempt_id, sid)
        return 1

    def _still_wanted(self, session: Session, attempt: CallAttempt) -> bool:
        """The window may have closed, or the resident checked in, while we waited our turn."""
        checkin = attempt.checkin
        assert checkin is not None
        now = self.clock.now()
        if checkin.status == "pending" and now < checkin.closes_at:
            return True
        attempt.state = "ended"
        attempt.outcome = "not_placed"
        attempt.ended_at = now
        if checkin.status == "pending":
            settle_attempt(session, attempt, self.settings, now)
        return False

    def _request(self, attempt: CallAttempt) -> OutboundCall:
        urls = self.urls()
        return OutboundCall(
            to=attempt.phone or "",
            from_=self.settings.caller_id,
            url=urls.answer(attempt.code),
            status_callback=urls.status(attempt.code),
            timeout_s=self.settings.ring_timeout_s,
            time_limit_s=self.settings.call_time_limit_s,
            machine_detection=self.settings.machine_detection,
        )

    def _failed(self, attempt_id: int, exc: CarrierError) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            attempt = session.get(CallAttempt, attempt_id)
            assert attempt is not None
            attempt.carrier_error_code = exc.code
            attempt.carrier_error = str(exc)[:300]
            if exc.kind in (ErrorKind.TRANSIENT, ErrorKind.AUTH):
                self._requeue(session, attempt, exc, now)
            elif exc.kind == ErrorKind.BAD_NUMBER:
                self._bad_number(session, attempt, exc, now)
            else:
                log.error(
                    "attempt %s refused by carrier (%s %s): %s",
                    attempt.id,
                    exc.status,
                    exc.code,
                    exc,
                )
                self._end_failed(session, attempt, now)

    def _requeue(
        self, session: Session, attempt: CallAttempt, exc: CarrierError, now: dt.datetime
    ) -> None:
        """Same attempt again later; it does not count, since no call was made."""
        attempt.deferrals += 1
        delay = min(MAX_BACKOFF_S, 5 * 2 ** min(attempt.deferrals - 1, 6))
        attempt.state = "queued"
        attempt.claimed_by = None
        attempt.due_at = now + dt.timedelta(seconds=delay)
        if exc.kind == ErrorKind.AUTH:
            halt.halt(session, f"carrier rejected our credentials ({exc.code}): {exc}", now)
            log.critical(
                "DIALING HALTED: the carrier rejected our credentials (%s): %s", exc.code, exc
            )
        else:
            log.warning(
                "attempt %s: carrier busy or down (%s %s); retrying in %ss",
                attempt.id,
                exc.status,
                exc.code,
                delay,
            )

    def _bad_number(
        self, session: Session, attempt: CallAttempt, exc: CarrierError, now: dt.datetime
    ) -> None:
        resident = attempt.resident
        checkin = attempt.checkin
        assert resident is not None and checkin is not None
        resident.phone_invalid_at = now
        resident.phone_error = f"{exc.code}: {exc}"[:200]
        attempt.state = "ended"
        attempt.status = "failed"
        attempt.outcome = "bad_number"
        attempt.ended_at = now
        checkin.status = "missed"
        checkin.closed_at = now
        checkin.next_attempt_at = None
        raise_escalation(
            session,
            resident,
            "bad_phone",
            "high",
            f"the carrier cannot call {resident.phone}: {exc.code} {exc}",
            now,
            checkin=checkin,
        )
        audit.record(
            session,
            now,
            audit.SYSTEM,
            "phone_invalid",
            "resident",
            resident.id,
            f"{exc.code}: {exc}",
        )
        log.error(
            "resident %s: number refused by carrier (%s); calls stopped", resident.id, exc.code
        )

    def _end_failed(self, session: Session, attempt: CallAttempt, now: dt.datetime) -> None:
        attempt.state = "ended"
        attempt.status = "failed"
        attempt.outcome = "not_placed"
        attempt.ended_at = now
        settle_attempt(session, attempt, self.settings, now)


def queue_checkin_now(session: Session, checkin: CheckIn, now: dt.datetime) -> CallAttempt | None:
    """Queue one check-in's next attempt immediately (``pingan call``); None if in a call."""
    claimed = session.execute(
        update(CheckIn)
        .where(
            CheckIn.id == checkin.id,
            CheckIn.status == "pending",
            CheckIn.next_attempt_at.is_not(None),
        )
        .values(
            next_attempt_at=None,
            attempts=CheckIn.attempts + 1,
            max_attempts=max(checkin.max_attempts, checkin.attempts + 1),
            updated_at=now,
        )
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    _new_attempt(session, checkin.id, now)
    session.flush()
    return session.scalars(
        select(CallAttempt)
        .where(CallAttempt.checkin_id == checkin.id)
        .order_by(CallAttempt.id.desc())
    ).first()
