"""Housekeeping that keeps every check-in moving: nothing may stay in progress forever.

1. Calls we have heard nothing about for longer than a line can ring (plus a grace period) are
   looked up at the carrier; those it reports ended are settled (their callbacks were lost, or
   the database was down when they came), and those it does not know are closed as failed. A
   call that was answered but whose end we never heard was cut off on our side (the caller
   heard "we will call you again"), so its check-in is called again if it is unfinished.
2. Attempts claimed by a worker that stopped (no heartbeat) before placing them are re-queued,
   and so is any claim older than ``claim_expires_s`` whatever its worker's health (a dial run
   the database failed after claiming may not have been able to give its claims back).
3. Queued attempts and idle check-ins whose calling window has closed are closed as missed; a
   claim stranded until then ends unplaced, without an escalation (Pingan's fault).
4. Residents whose isolation period ended yesterday or earlier are released.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from callflows import Flow
from ivr.carriers.telephony import FINAL_STATUSES, Carrier, CarrierError, ErrorKind
from ivr.clock import Clock
from ivr.config import Settings
from ivr.domain import audit
from ivr.domain.calls import CallEnv, finish_call
from ivr.domain.release_calls import flow_env
from ivr.domain.settle import close_missed, settle_attempt, settle_stranded
from ivr.worker.workers import ALIVE_FOR_S, gone, last_beats
from storage import CallAttempt, CallEvent, CheckIn, Resident, Round

log = logging.getLogger(__name__)

# Beyond the ring timeout: far longer than any quiet spell of a live call (a prompt plus a
# gather's timeout), and settling only ever follows what the carrier reports.
GRACE_S = 30
ORPHAN_AFTER_S = 60
GONE_AFTER_S = 20  # a create request's client timeout (15 s), and then some
MISSED_BEAT_S = 15  # a live worker beats every 10 s
# A live dialer places a claim within seconds, and re-asserts it as it fires
# (``ivr.worker.dialer``),
# so one this old was stranded: by a dial run that failed on the database, say.
CLAIM_EXPIRES_S = 120


def claim_expires_s(settings: Settings) -> int:
    """The bound, and always longer than a call fired just before an outage can ring: its
    webhooks, which attach the CallSid, come first, so it is never placed twice."""
    return max(CLAIM_EXPIRES_S, settings.ring_timeout_s + GONE_AFTER_S + GRACE_S)


@dataclass
class Sweeper:
    sessions: sessionmaker[Session]
    carrier: Carrier
    clock: Clock
    settings: Settings
    flow: Flow

    def run_once(self) -> None:
        self.settle_stuck_calls()
        with self.sessions.begin() as session:
            now = self.clock.now()
            requeue_orphans(session, self.settings, now)
            close_expired(session, self.settings, now)
            release_finished(session, self.settings, now)
            close_finished_rounds(session, now)

    def settle_stuck_calls(self) -> int:
        """Look up quiet calls at the carrier; returns how many were settled.

        A live call is never quiet for long: every gather ends in a webhook within a minute.
        Calls still live at the carrier (a long transfer) are asked again next sweep.
        """
        quiet_since = self.clock.now() - dt.timedelta(
            seconds=self.settings.ring_timeout_s + GRACE_S
        )
        last_event = (
            select(func.max(CallEvent.at))
            .where(CallEvent.attempt_id == CallAttempt.id)
            .scalar_subquery()
        )
        last_heard = func.coalesce(
            last_event, CallAttempt.placed_at, CallAttempt.claimed_at, CallAttempt.created_at
        )
        with self.sessions.begin() as session:
            stuck = session.scalars(
                select(CallAttempt.id).where(
                    CallAttempt.state.in_(("placed", "in_call")), last_heard < quiet_since
                )
            ).all()
        return sum(self._settle(attempt_id) for attempt_id in stuck)

    def _settle(self, attempt_id: int) -> int:
        with self.sessions.begin() as session:
            attempt = session.get(CallAttempt, attempt_id)
            sid = attempt.call_sid if attempt else None
        status, duration = "failed", None
        if sid:
            try:
                info = self.carrier.fetch_call(sid)
            except CarrierError as exc:
                if exc.kind == ErrorKind.TRANSIENT:
                    return 0
                log.warning("attempt %s: carrier cannot find call %s (%s)", attempt_id, sid, exc)
            else:
                if info.status not in FINAL_STATUSES:
                    return 0
                status, duration = info.status, info.duration_s
        with self.sessions.begin() as session:
            attempt = session.get(CallAttempt, attempt_id, with_for_update=True)
            if attempt is None or attempt.status in FINAL_STATUSES:
                return 0
            env = flow_env(attempt, CallEnv(self.flow, self.settings, self.clock.now()))
            cut_off = attempt.answered_at is not None and not (attempt.flow_state or {}).get(
                "outcome"
            )
            unheard = _never_heard(session, attempt)
            finish_call(
                session, attempt, status, duration, None, env, cut_off=cut_off, unheard=unheard
            )
            if unheard:
                log.error(
                    "PINGAN FAULT: no webhook of call %s (attempt %s) ever reached us before it "
                    "ended %s; is PINGAN_PUBLIC_URL (%s) served? Not counted against the "
                    "resident; called again",
                    sid,
                    attempt_id,
                    status,
                    self.settings.public_url or "the embedded server",
                )
            else:
                log.warning(
                    "attempt %s settled by the sweeper as %s (callbacks lost%s)",
                    attempt_id,
                    status,
                    "; cut off mid-call" if cut_off else "",
                )
        return 1


def _never_heard(session: Session, attempt: CallAttempt) -> bool:
    """Did the carrier create the call without any of its webhooks ever reaching us?"""
    if attempt.answered_at is not None or attempt.last_event is not None:
        return False
    query = select(CallEvent.id).where(CallEvent.attempt_id == attempt.id).limit(1)
    return session.scalar(query) is None


def requeue_orphans(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Attempts claimed but never placed go back to the queue (not counted): those of a dead
    worker, and any claim older than ``claim_expires_s``.

    A worker is dead when its heartbeat is stale; or sooner, when it was a process of this
    host that is gone and has missed its last heartbeat (a live worker in another PID
    namespace, with the same host name, still beats). Either way the claim must be old enough
    that a create request it sent just before dying has been answered by the carrier's first
    webhook, which attaches the CallSid (so that call is not placed a second time). Claims
    whose window has closed are left to ``close_expired``.
    """
    cutoff = now - dt.timedelta(seconds=GONE_AFTER_S)
    expired = now - dt.timedelta(seconds=claim_expires_s(settings))
    beats = last_beats(session)
    query = (
        select(CallAttempt)
        .join(CheckIn, CheckIn.id == CallAttempt.checkin_id)
        .where(
            CallAttempt.state == "dialing",
            CallAttempt.call_sid.is_(None),
            CallAttempt.claimed_at < cutoff,
            CheckIn.closes_at > now,
        )
    )
    count = 0
    for attempt in session.scalars(query.with_for_update(skip_locked=True, of=CallAttempt)):
        stale = (attempt.claimed_at or now) < expired
        if not stale and not _claimant_dead(attempt, beats, now):
            continue
        worker = attempt.claimed_by
        attempt.state, attempt.claimed_by, attempt.due_at = "queued", None, now
        if stale:
            log.warning("attempt %s re-queued: claimed by %s but never placed", attempt.id, worker)
        else:
            log.warning("attempt %s re-queued: its worker stopped before placing it", attempt.id)
        count += 1
    return count


def _claimant_dead(attempt: CallAttempt, beats: dict[str, dt.datetime], now: dt.datetime) -> bool:
    worker, claimed_at = attempt.claimed_by or "", attempt.claimed_at or now
    beat = beats.get(worker)
    if beat is None or beat < now - dt.timedelta(seconds=ALIVE_FOR_S):
        return claimed_at < now - dt.timedelta(seconds=ORPHAN_AFTER_S)
    return beat < now - dt.timedelta(seconds=MISSED_BEAT_S) and gone(worker)


def close_expired(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Close what can no longer be called today: queued attempts, stranded claims and idle
    check-ins."""
    queued = (
        select(CallAttempt)
        .join(CheckIn, CheckIn.id == CallAttempt.checkin_id)
        .where(CallAttempt.state == "queued", CheckIn.closes_at <= now)
    )
    for attempt in session.scalars(queued):
        attempt.state, attempt.outcome, attempt.ended_at = "ended", "not_placed", now
        settle_attempt(session, attempt, settings, now)
    stranded = (
        select(CallAttempt)
        .join(CheckIn, CheckIn.id == CallAttempt.checkin_id)
        .where(
            CallAttempt.state == "dialing",
            CallAttempt.call_sid.is_(None),
            CallAttempt.claimed_at < now - dt.timedelta(seconds=claim_expires_s(settings)),
            CheckIn.closes_at <= now,
        )
    )
    for attempt in session.scalars(stranded):
        settle_stranded(session, attempt, settings, now)
    idle = select(CheckIn).where(
        CheckIn.status == "pending", CheckIn.closes_at <= now, CheckIn.next_attempt_at.is_not(None)
    )
    closed = 0
    for checkin in session.scalars(idle):
        close_missed(session, checkin, settings, now)
        closed += 1
    return closed


def release_finished(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Residents past the last day of their isolation are released (and no longer called)."""
    today = now.astimezone(settings.tz).date()
    query = select(Resident).where(
        Resident.released_at.is_(None),
        Resident.isolation_start.is_not(None),
        Resident.isolation_start <= today,
    )
    released = 0
    for resident in session.scalars(query):
        end = resident.isolation_end()
        if end is not None and end < today:
            resident.released_at = now
            resident.release_reason = f"isolation ended {end.isoformat()}"
            resident.updated_at = now
            audit.record(
                session,
                now,
                audit.SYSTEM,
                "released",
                "resident",
                resident.id,
                resident.release_reason,
            )
            released += 1
    return released


def close_finished_rounds(session: Session, now: dt.datetime) -> int:
    open_checkins = select(CheckIn.id).where(
        CheckIn.round_id == Round.id, CheckIn.status == "pending"
    )
    query = select(Round).where(
        Round.closed_at.is_(None), or_(Round.closes_at <= now, ~open_checkins.exists())
    )
    closed = 0
    for round_ in session.scalars(query):
        if session.scalar(open_checkins.where(CheckIn.round_id == round_.id).limit(1)) is None:
            round_.closed_at = now
            closed += 1
    return closed
