"""Placing calls: due check-ins become attempts, attempts are claimed once and dialed at pace.

1. ``queue_due_calls``: each due check-in is claimed with a conditional UPDATE (so two workers
   never both take it) and gets a ``queued`` attempt with an unguessable webhook code.
2. ``claim_queued``: queued attempts are claimed the same way (``queued`` → ``dialing``).
3. ``Dialer``: wait for a permit of the pace shared by all workers (``pacing.py``), then ask the
   carrier. The attempt row exists before the request, so a crash leaves a trace; refusals are
   handled in ``dial_errors.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ivr.carriers.telephony import (
    MAX_PARALLEL_REQUESTS,
    Carrier,
    CarrierError,
    ErrorKind,
    OutboundCall,
)
from ivr.clock import Clock
from ivr.config import Settings
from ivr.db_errors import database_unavailable, retry_while_unavailable
from ivr.domain import households
from ivr.phones import mask_phones_in
from ivr.worker import halt
from ivr.worker.dial_errors import end_unplaced, handle_refusal
from ivr.worker.pacing import Pacer, Take
from ivr.worker.sweeper import CLAIM_EXPIRES_S
from storage import CallAttempt, CheckIn

log = logging.getLogger(__name__)

IN_FLIGHT = ("dialing", "placed", "in_call")
SWITCH_INTERVAL_S = 0.0005


@dataclass(frozen=True)
class Urls:
    """Builds the webhook URLs a call carries (the carrier calls them back)."""

    base: str

    def answer(self, code: str) -> str:
        return f"{self.base}/voice/{code}/answer"

    def status(self, code: str) -> str:
        return f"{self.base}/voice/{code}/status"

    def fallback(self, lang: str) -> str:
        return f"{self.base}/voice/fallback/{lang}.xml"


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
    """One call for the check-in, and for its housemates' check-ins still due (one call per
    household and attempt, so the pace counts calls, not residents)."""
    lead = session.get(CheckIn, checkin_id, populate_existing=True)
    assert lead is not None
    members = households.in_order([lead, *households.claim_housemates(session, lead, now)])
    checkin = members[0]
    resident = checkin.resident
    attempt = CallAttempt(
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
    session.add(attempt)
    households.add_members(session, attempt, members)


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


@dataclass(frozen=True)
class Ready:
    """A claimed attempt with everything needed to place it, loaded in one go."""

    attempt_id: int
    request: OutboundCall
    closes_at: dt.datetime


@dataclass
class Dialer:
    """One worker's dialer. ``run_once`` places what is due now, at the shared pace."""

    sessions: sessionmaker[Session]
    carrier: Carrier
    clock: Clock
    settings: Settings
    urls: Callable[[], Urls]
    worker: str
    pacer: Pacer = field(init=False)
    # Set when the worker is asked to stop: claimed calls not yet placed go back to the queue
    # at once rather than being placed while no heartbeat vouches for this worker any more.
    stopping: threading.Event = field(init=False, default_factory=threading.Event)
    _pool: ThreadPoolExecutor = field(init=False)
    _batch: int = field(init=False)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.sessions, self.clock, self.settings.calls_per_second)
        # About one second of calls in parallel: enough to hide REST latency at any rate.
        parallel = max(4, min(MAX_PARALLEL_REQUESTS, math.ceil(self.settings.calls_per_second)))
        self._pool = ThreadPoolExecutor(parallel, thread_name_prefix="dial")
        # Permits are taken the moment they come due (``pacing.py``); with the default 5 ms
        # GIL switch interval the pacing thread could wait that long behind the REST threads.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        # No more claims than the pace fires well within the sweeper's bound on claims.
        self._batch = max(1, math.floor(self.settings.calls_per_second * CLAIM_EXPIRES_S / 2))

    def run_once(self) -> int:
        """Queue due check-ins, claim attempts and place them; returns calls placed."""
        with self.sessions.begin() as session:
            if halt.is_halted(session):
                return 0
            room = min(self._batch, self.settings.max_concurrent_calls - in_flight(session))
            now = self.clock.now()
            queue_due_calls(session, now, room)
        with self.sessions.begin() as session:
            ready = self._prepare(session, claim_queued(session, now, self.worker, room))
        return self._place_all(ready)

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
            ready = self._prepare(session, [attempt_id])
        return self._place_all(ready)

    def _prepare(self, session: Session, attempt_ids: list[int]) -> list[Ready]:
        if not attempt_ids:
            return []
        query = (
            select(CallAttempt)
            .where(CallAttempt.id.in_(attempt_ids))
            .options(selectinload(CallAttempt.checkin))
            .order_by(CallAttempt.id)
        )
        by_id = {a.id: a for a in session.scalars(query)}
        ready = []
        for attempt_id in attempt_ids:  # keep the claim order (priority first)
            attempt = by_id[attempt_id]
            checkin = attempt.checkin
            assert checkin is not None
            if checkin.status != "pending":  # checked in meanwhile (e.g. called back)
                end_unplaced(session, attempt, self.settings, self.clock.now())
                continue
            ready.append(Ready(attempt.id, self._request(attempt), checkin.closes_at))
        return ready

    def _place_all(self, ready: list[Ready]) -> int:
        """Fire each call as soon as the shared pace permits it; the requests themselves run in
        parallel, because a carrier's REST latency (hundreds of ms from afar) must not cap the
        rate. Whatever ends the run (a halt, a stop, the database failing mid-run), the claims
        not fired go back to the queue before it returns."""
        halted = threading.Event()
        futures: list[Future[int]] = []
        waiting = list(ready)
        try:
            if waiting:
                with self.pacer.permits() as permit:
                    while waiting and not halted.is_set() and not self.stopping.is_set():
                        granted = permit(self._still_claimed(waiting[0].attempt_id))
                        item = waiting.pop(0)
                        if granted is None:
                            log.warning(
                                "attempt %s not placed: its claim was taken back meanwhile",
                                item.attempt_id,
                            )
                            continue
                        fired_at = dt.datetime.fromtimestamp(granted, dt.UTC)
                        futures.append(self._pool.submit(self._place_one, item, fired_at, halted))
        finally:
            self._release([item.attempt_id for item in waiting])
            wait(futures)
        return sum(f.result() for f in futures)

    def _still_claimed(self, attempt_id: int) -> Take:
        """Re-asserts the claim in the permit's transaction: the sweeper takes back claims
        older than a bound whatever the worker's health, so one that waited that long may be
        another worker's by now. Its claim time becomes the time it is fired."""

        def take(connection: Connection, granted: float) -> bool:
            result = connection.execute(
                update(CallAttempt)
                .where(
                    CallAttempt.id == attempt_id,
                    CallAttempt.state == "dialing",
                    CallAttempt.claimed_by == self.worker,
                    CallAttempt.call_sid.is_(None),
                )
                .values(claimed_at=dt.datetime.fromtimestamp(granted, dt.UTC))
            )
            return bool(result.rowcount == 1)

        return take

    def _place_one(self, item: Ready, fired_at: dt.datetime, halted: threading.Event) -> int:
        if fired_at >= item.closes_at:
            self._not_placed(item.attempt_id)  # the window closed while we waited
            return 0
        try:
            sid = self.carrier.place_call(item.request)
        except CarrierError as exc:
            if exc.kind == ErrorKind.AUTH:
                halted.set()
            self._refused(item.attempt_id, exc, fired_at)
            return 0
        self._placed(item.attempt_id, sid, fired_at)
        return 1

    def _placed(self, attempt_id: int, sid: str, fired_at: dt.datetime) -> None:
        """Record the call. The carrier has it now, so a database outage must not lose this
        (the attempt would stay ``dialing`` for good): the idempotent write is retried."""

        def write() -> None:
            with self.sessions.begin() as session:
                session.execute(
                    update(CallAttempt)
                    .where(CallAttempt.id == attempt_id)
                    .values(
                        call_sid=func.coalesce(CallAttempt.call_sid, sid),
                        placed_at=fired_at,
                        state=case(
                            (CallAttempt.state == "dialing", "placed"), else_=CallAttempt.state
                        ),
                    )
                )

        retry_while_unavailable(write, f"attempt {attempt_id} placed as {sid}")
        log.info("attempt %s placed: call %s", attempt_id, sid)

    def _refused(self, attempt_id: int, exc: CarrierError, fired_at: dt.datetime) -> None:
        def write() -> None:
            with self.sessions.begin() as session:
                attempt = session.get(CallAttempt, attempt_id, with_for_update=True)
                assert attempt is not None
                if attempt.call_sid is not None or attempt.state != "dialing":
                    # A timeout is ambiguous: the carrier may have created the call after all.
                    # Its webhooks got here first and attached the CallSid, so the call exists;
                    # putting the attempt back in the queue would ring the resident twice.
                    attempt.placed_at = attempt.placed_at or fired_at
                    log.warning(
                        "attempt %s: carrier error (%s) but its call %s exists; not retried",
                        attempt_id,
                        mask_phones_in(str(exc)),
                        attempt.call_sid,
                    )
                    return
                handle_refusal(session, attempt, exc, self.settings, self.clock.now())

        retry_while_unavailable(write, f"the carrier's refusal of attempt {attempt_id}")

    def _not_placed(self, attempt_id: int) -> None:
        with self.sessions.begin() as session:
            attempt = session.get(CallAttempt, attempt_id)
            assert attempt is not None
            end_unplaced(session, attempt, self.settings, self.clock.now())

    def _release(self, attempt_ids: list[int]) -> None:
        """Give claimed attempts back to the queue untouched (dialing halted, stopping, or the
        run failed). If the database refuses even that, the sweeper takes them back once
        their claim is older than its bound."""
        if not attempt_ids:
            return
        try:
            with self.sessions.begin() as session:
                session.execute(
                    update(CallAttempt)
                    .where(
                        CallAttempt.id.in_(attempt_ids),
                        CallAttempt.state == "dialing",
                        CallAttempt.claimed_by == self.worker,
                    )
                    .values(state="queued", claimed_by=None)
                )
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning(
                "%d claimed attempts could not be given back (database unavailable); "
                "the sweeper will re-queue them",
                len(attempt_ids),
            )

    def _request(self, attempt: CallAttempt) -> OutboundCall:
        urls = self.urls()
        return OutboundCall(
            to=attempt.phone or "",
            from_=self.settings.caller_id,
            url=urls.answer(attempt.code),
            status_callback=urls.status(attempt.code),
            fallback_url=urls.fallback(attempt.language),
            timeout_s=self.settings.ring_timeout_s,
            time_limit_s=self.settings.call_time_limit_s,
            machine_detection=self.settings.machine_detection,
        )


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
        select(CallAttempt).where(households.calls_of(checkin)).order_by(CallAttempt.id.desc())
    ).first()
