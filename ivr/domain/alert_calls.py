"""The staff alert call: an urgent escalation nobody acknowledged is rung to the people on duty.

Texts cannot be relied on everywhere (replies never arrive in mainland China), so an ``urgent``
escalation still ``open`` ``PINGAN_ALERT_CALL_AFTER`` after it opened is rung, one person at a
time, on whichever carrier is configured. The call is ``callflows/staff_alert.toml``: pressing 1
acknowledges the escalation (the same ``escalations.acknowledge`` as the dashboard and SMS, with
that staff member as actor, "via phone", in their community's scope).

Who, in order (``ring_order``): the staff on duty (``ivr.domain.staff.on_duty``: the roster's people
now, else every active staff member of the community) by staff id, then the supervisors and
admins of the community or of every community, by id. A phone is rung at most once per
escalation; after the last one the chain stops, the escalation stays open and the audit trail
and the log say so.

Every ring is an ``AlertCall`` row, created and claimed with the same rules as alerts:

1. ``queue_due``: for each escalation due a ring (urgent, open, old enough, no ring under way,
   the chain neither acknowledged nor exhausted) the next person's row is inserted; the unique
   keys (escalation, position) and (escalation, phone) let only one worker insert it.
2. ``claim_queued``: ``queued`` → ``dialing`` with a conditional UPDATE, then the call is placed
   outside any transaction through the ``Carrier`` seam. A refusal ends the ring (the next
   person is rung); it is never placed again.
3. The carrier's webhooks (``ivr.web.voice.alert``, ``ivr.carriers.aliyun.callbacks``) run the flow
through
   ``on_answer``/``on_input``/``on_final``; a ring that ends unacknowledged queues the next.
4. ``give_up_stuck``: a ring whose end we never heard (a worker died mid-call, a lost callback)
   is ended as ``lost`` after ``STUCK_AFTER_S`` and the chain moves on: the person may have
   been rung, so they are never rung again for this escalation.

Acknowledging or resolving the escalation (dashboard, SMS, recovery) stops the chain: queued
rings are cancelled before they are placed and an answered ring just says goodbye.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from callflows import Answered, Event, Flow, HangUp, Hangup, Keys, Silence, Transition, advance
from ivr.carriers.telephony import FINAL_STATUSES, Carrier, OutboundCall
from ivr.clock import Clock
from ivr.config import Settings
from ivr.domain import audit, placing
from ivr.domain.escalations import LifecycleError, acknowledge
from ivr.domain.staff import on_duty, supervisors
from ivr.phones import mask_phone
from storage import AlertCall, Escalation, Resident

log = logging.getLogger(__name__)

RUNG = ("urgent",)
TIME_LIMIT_S = 180  # the alert is a few sentences; a call this long is a stuck line
STUCK_AFTER_S = 600  # a ring not over this long after it was claimed: its end was lost
EXHAUSTED = "exhausted"  # the row that ends a chain nobody acknowledged (phone "")
ACKNOWLEDGED = "acknowledged"
TEMPERATURE_REASONS = ("high_fever", "fever", "low_temperature", "rising_temperature")
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)


@dataclass(frozen=True)
class Urls:
    """The webhook URLs an alert call carries; the code sits before the last part, as in a
    check-in call's (Alibaba Cloud's carrier reads it from there into ``DynamicId``)."""

    base: str

    def answer(self, code: str) -> str:
        return f"{self.base}/voice/alert/{code}/answer"

    def status(self, code: str) -> str:
        return f"{self.base}/voice/alert/{code}/status"


@dataclass(frozen=True)
class Callee:
    phone: str
    staff_id: int | None
    name: str


def ring_order(
    session: Session, escalation: Escalation, settings: Settings, now: dt.datetime
) -> list[Callee]:
    """The people on duty, then the supervisors, each phone once (see the module docstring)."""
    people = on_duty(session, escalation.community_id, now, settings.tz)
    people += supervisors(session, escalation.community_id)
    found: dict[str, Callee] = {}
    for staff in people:
        found.setdefault(staff.phone, Callee(staff.phone, staff.id, staff.name))
    return list(found.values())


def queue_due(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Queue the next ring of every escalation due one; returns how many were queued."""
    if settings.alert_call == "off":
        return 0
    under_way = select(AlertCall.escalation_id).where(AlertCall.state != "ended")
    finished = select(AlertCall.escalation_id).where(
        AlertCall.outcome.in_((ACKNOWLEDGED, EXHAUSTED))
    )
    due = (
        select(Escalation.id)
        .where(
            Escalation.status == "open",
            Escalation.severity.in_(RUNG),
            Escalation.opened_at <= now - dt.timedelta(seconds=settings.alert_call_after_s),
            Escalation.id.not_in(under_way),
            Escalation.id.not_in(finished),
        )
        .order_by(Escalation.opened_at)
        .limit(50)
    )
    return sum(queue_next(session, i, settings, now) for i in session.scalars(due).all())


def queue_next(session: Session, escalation_id: int, settings: Settings, now: dt.datetime) -> int:
    """Insert the next ring of this escalation's chain (or its end); 1 if a ring was queued."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or escalation.status != "open":
        return 0
    rows = list(session.scalars(select(AlertCall).where(AlertCall.escalation_id == escalation_id)))
    if any(r.state != "ended" or r.outcome in (ACKNOWLEDGED, EXHAUSTED) for r in rows):
        return 0
    rung = {r.phone for r in rows}
    callee = next(
        (c for c in ring_order(session, escalation, settings, now) if c.phone not in rung), None
    )
    row = AlertCall(
        escalation_id=escalation_id,
        position=len(rows),
        staff_id=callee.staff_id if callee else None,
        phone=callee.phone if callee else "",
        code=secrets.token_urlsafe(18),
        language=settings.language,
        state="queued" if callee else "ended",
        outcome=None if callee else EXHAUSTED,
        created_at=now,
        ended_at=None if callee else now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker queued this ring first
        log.info("escalation %s: ring %d queued by another worker", escalation_id, len(rows))
        return 0
    if callee is None:
        detail = f"nobody left to ring after {len(rows)} calls; the escalation stays open"
        audit.record(session, now, audit.SYSTEM, "alert_call_exhausted", "escalation",
                     escalation_id, detail)  # fmt: skip
        log.error("escalation %s: staff alert call: %s", escalation_id, detail)
        return 0
    audit.record(
        session, now, audit.SYSTEM, "alert_call_queued", "escalation", escalation_id,
        f"call {len(rows) + 1}: {callee.name} {mask_phone(callee.phone)}",
    )  # fmt: skip
    log.info("escalation %s: staff alert call %d queued", escalation_id, len(rows) + 1)
    return 1


def claim_queued(session: Session, now: dt.datetime, worker: str, limit: int = 20) -> list[int]:
    """Claim queued rings for this worker; a ring of an escalation closed meanwhile is
    cancelled instead (acknowledged on the dashboard or by SMS before the phone rang)."""
    query = (
        select(AlertCall.id, Escalation.status)
        .join(Escalation, Escalation.id == AlertCall.escalation_id)
        .where(AlertCall.state == "queued")
        .order_by(AlertCall.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=AlertCall)
    )
    claimed = []
    for ring_id, status in session.execute(query).all():
        values: dict[str, Any] = {"state": "dialing", "claimed_by": worker, "claimed_at": now}
        if status != "open":
            values = {"state": "ended", "outcome": "cancelled", "ended_at": now}
        result = session.execute(
            update(AlertCall)
            .where(AlertCall.id == ring_id, AlertCall.state == "queued")
            .values(**values)
        )
        if result.rowcount == 1 and status == "open":  # type: ignore[attr-defined]
            claimed.append(ring_id)
        elif result.rowcount == 1:  # type: ignore[attr-defined]
            log.info("staff alert call %s cancelled: its escalation is %s", ring_id, status)
    return claimed


def give_up_stuck(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Rings whose end never reached us are ended as ``lost``; their chains move on."""
    cutoff = now - dt.timedelta(seconds=STUCK_AFTER_S)
    stuck = list(
        session.scalars(
            select(AlertCall)
            .where(AlertCall.state.in_(("dialing", "placed", "in_call")))
            .where(AlertCall.claimed_at < cutoff)
            .with_for_update(skip_locked=True)
        )
    )
    for ring in stuck:
        _end(session, ring, "lost", now)
        log.warning(
            "staff alert call %s: its end was never heard; the next person is rung", ring.id
        )
        queue_next(session, ring.escalation_id, settings, now)
    return len(stuck)


@dataclass
class AlertCaller:
    """One worker's alert caller: ``run_once`` queues, claims and places the rings due now."""

    sessions: sessionmaker[Session]
    carrier: Carrier
    clock: Clock
    settings: Settings
    urls: Callable[[], Urls]
    worker: str

    def run_once(self) -> int:
        with self.sessions.begin() as session:
            now = self.clock.now()
            give_up_stuck(session, self.settings, now)
            queue_due(session, self.settings, now)
        with self.sessions.begin() as session:
            claimed = claim_queued(session, now, self.worker)
            requests = {i: self._request(session, i) for i in claimed}
        return sum(self._place(ring_id, request) for ring_id, request in requests.items())

    def _request(self, session: Session, ring_id: int) -> OutboundCall:
        ring = session.get(AlertCall, ring_id)
        assert ring is not None
        urls = self.urls()
        return OutboundCall(
            to=ring.phone,
            from_=self.settings.caller_id,
            url=urls.answer(ring.code),
            status_callback=urls.status(ring.code),
            timeout_s=self.settings.ring_timeout_s,
            time_limit_s=TIME_LIMIT_S,
            machine_detection=True,  # a voicemail must not keep the next person waiting
        )

    def _place(self, ring_id: int, request: OutboundCall) -> int:
        sid = placing.place_claimed(
            self.sessions, self.carrier, self.clock, AlertCall, ring_id, request, self._refused
        )
        if sid is None:
            return 0
        log.info("staff alert call %s placed: call %s", ring_id, sid)
        return 1

    def _refused(self, session: Session, ring: AlertCall, why: str) -> None:
        now = self.clock.now()
        _end(session, ring, "refused", now, why)
        queue_next(session, ring.escalation_id, self.settings, now)


# --- the call's events, from either carrier's webhooks ----------------------------------------


def load(session: Session, code: str) -> AlertCall | None:
    """The ring behind a webhook URL, locked, with its escalation, resident and community."""
    query = (
        select(AlertCall)
        .where(AlertCall.code == code)
        .options(
            joinedload(AlertCall.escalation)
            .joinedload(Escalation.resident)
            .joinedload(Resident.community),
            joinedload(AlertCall.staff),
        )
        .with_for_update(of=AlertCall)
    )
    return session.scalars(query).first()


def by_call_sid(session: Session, sid: str) -> AlertCall | None:
    found = session.scalar(select(AlertCall.code).where(AlertCall.call_sid == sid))
    return load(session, found) if found else None


def same_call(ring: AlertCall, sid: str | None) -> bool:
    return ring.call_sid is None or not sid or sid == ring.call_sid


def attach_call_sid(ring: AlertCall, sid: str | None, now: dt.datetime) -> None:
    """A webhook may beat the placer's save of the CallSid (or outlive a worker that died)."""
    if sid and ring.call_sid is None:
        ring.call_sid = sid
        ring.placed_at = ring.placed_at or now
        if ring.state in ("queued", "dialing"):
            ring.state = "placed"


def prompt_args(ring: AlertCall, flow: Flow) -> dict[str, str]:
    """{community}, {name} and {reason}: what the staff member hears about the escalation."""
    escalation = ring.escalation
    resident = escalation.resident
    reading = escalation.temperature_c
    if escalation.reason in TEMPERATURE_REASONS and reading is not None:
        prompt, args = "alert_reading", {"reading": str(reading)}
    elif escalation.reason in ("unreachable", "no_response"):
        prompt, args = f"alert_{escalation.reason}", {}
    else:
        prompt, args = "alert_other", {}
    reason = flow.catalogue.text(prompt, ring.language, args)
    return {"community": resident.community.name, "name": resident.name, "reason": reason}


def hang_up() -> Transition:
    return Transition({}, (Hangup(),))


def on_answer(
    session: Session, ring: AlertCall, answered_by: str | None, flow: Flow, now: dt.datetime
) -> Transition:
    """Picked up: read the alert, or only hang up if the call is over or no longer needed."""
    if ring.status in FINAL_STATUSES or ring.state == "ended":
        return hang_up()
    if ring.escalation.status != "open":
        log.info("staff alert call %s answered after its escalation was taken; hanging up", ring.id)
        return hang_up()
    if ring.flow_state and ring.flow_state.get("step"):
        return _advance(ring, flow, Answered())  # a repeated answer request: ask again
    ring.state, ring.answered_at = "in_call", ring.answered_at or now
    return _advance(ring, flow, Answered(machine=answered_by in MACHINE_ANSWERS))


def on_input(
    session: Session,
    ring: AlertCall,
    event: Keys | Silence,
    turn: str | None,
    flow: Flow,
    now: dt.datetime,
) -> Transition:
    """Keys or silence. A request for an older turn is a replay: the question is asked again."""
    state = ring.flow_state or {}
    if ring.state == "ended" or state.get("outcome"):
        return hang_up()
    if turn != str(state.get("turns", 0)):
        log.warning("staff alert call %s: stale input for turn %s; not applied", ring.id, turn)
        return _advance(ring, flow, Answered())
    transition = _advance(ring, flow, event)
    if any(a.key == "acknowledged" for a in transition.answers):
        _acknowledge(session, ring, now)
    return transition


def on_final(
    session: Session,
    ring: AlertCall,
    status: str,
    answered_by: str | None,
    settings: Settings,
    flow: Flow,
    now: dt.datetime,
) -> None:
    """The call is over: record how, and ring the next person unless it was acknowledged."""
    if ring.state == "ended":
        log.info("staff alert call %s: %s after its end; ignored", ring.id, status)
        return
    ring.status = status
    state = ring.flow_state or {}
    if state and not state.get("outcome"):
        ring.flow_state = dict(advance(flow, state, HangUp()).state)
    _end(session, ring, _outcome(ring, status, answered_by), now)
    if ring.outcome != ACKNOWLEDGED:
        queue_next(session, ring.escalation_id, settings, now)


def _outcome(ring: AlertCall, status: str, answered_by: str | None) -> str:
    if ring.outcome == ACKNOWLEDGED:
        return ACKNOWLEDGED
    flow_outcome = (ring.flow_state or {}).get("outcome")
    if flow_outcome == "machine" or answered_by in MACHINE_ANSWERS:
        return "machine"
    if status != "completed" or ring.answered_at is None:
        return status if status != "completed" else "not_answered"
    return "unconfirmed" if flow_outcome in ("no_response", "finished") else "hung_up"


def _advance(ring: AlertCall, flow: Flow, event: Event) -> Transition:
    transition = advance(flow, ring.flow_state, event)
    ring.flow_state = dict(transition.state)
    return transition


def _acknowledge(session: Session, ring: AlertCall, now: dt.datetime) -> None:
    staff = ring.staff
    actor = staff.name if staff else mask_phone(ring.phone)
    scope = staff.community_id if staff is not None else ring.escalation.community_id
    try:
        acknowledge(session, ring.escalation_id, actor, now, scope, via="phone")
    except LifecycleError as exc:  # taken on the dashboard while the phone was ringing
        log.info("staff alert call %s: 1 pressed, but %s", ring.id, exc)
        return
    ring.outcome = ACKNOWLEDGED


def _end(
    session: Session, ring: AlertCall, outcome: str, now: dt.datetime, why: str | None = None
) -> None:
    ring.state, ring.outcome, ring.ended_at = "ended", outcome, now
    who = ring.staff.name if ring.staff else ""
    detail = f"call {ring.position + 1}: {who} {mask_phone(ring.phone)}: {outcome}"
    audit.record(session, now, audit.SYSTEM, "alert_call_ended", "escalation",
                 ring.escalation_id, detail + (f" ({why})" if why else ""))  # fmt: skip
    log.info("staff alert call %s ended: %s", ring.id, outcome)


def rings(session: Session, escalation_id: int) -> list[AlertCall]:
    """An escalation's rings, in order (for its page and the tests)."""
    return list(
        session.scalars(
            select(AlertCall)
            .where(AlertCall.escalation_id == escalation_id)
            .order_by(AlertCall.position)
        )
    )
