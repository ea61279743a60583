"""What an ended call means for the resident's check-in: done, try again, or missed.

1. A valid temperature is on the check-in: it is ``complete`` if the call reached the end of the
   flow with every question answered and the temperature confirmed at its read-back,
   ``partial`` otherwise; no more calls.
2. Otherwise the attempt failed (busy, no answer, machine, no temperature keyed): call again after
   the retry delay if attempts are left and the retry still starts inside the calling window.
3. Otherwise the check-in is ``missed`` and an escalation opens: ``unreachable`` if nobody ever
   answered, ``no_response`` if someone did but gave no temperature.

Call-backs (the resident rang us, ``ivr.domain.inbound``) settle the same way, with two differences:
while another call of the same check-in is still live, that call settles it when it ends (so a
call-back and an outbound call in flight cannot both schedule or close it); and an ad-hoc
check-in made by a call-back outside any round simply closes (``partial`` without a
temperature): nobody was expecting that call, so it is never "missed".
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from callflows.engine import skipped_by
from ivr.config import Settings
from ivr.domain import alerts, escalation_facts, households
from ivr.domain.escalations import raise_escalation
from storage import Answer, CallAttempt, CheckIn, Resident

log = logging.getLogger(__name__)

OPEN = "pending"
CLOSED_STATUSES = frozenset({"complete", "partial", "missed"})
LIVE_STATES = ("queued", "dialing", "placed", "in_call")
UNHEARD = "no_webhooks"  # the outcome of a call none of whose webhooks reached us


def settle_attempt(
    session: Session,
    attempt: CallAttempt,
    settings: Settings,
    now: dt.datetime,
    *,
    call_again_if_unfinished: bool = False,
) -> None:
    """``call_again_if_unfinished``: the call was cut off on our side (see ``ivr.worker.sweeper``),
    so
    an unfinished check-in is called again, as the caller was promised, even with a
    temperature; if no attempt is left it closes as usual.

    A household call settles each member's check-in on how far it got with them: a member
    whose questions were all answered is done even if the call ended before the next one's,
    and a member skipped as away or never asked counts as not reached."""
    members = households.members_of(session, attempt) if attempt.checkin is not None else []
    named = bool((attempt.flow_state or {}).get("members"))  # a household's last member too
    if len(members) < 2 and not named:
        if attempt.checkin is not None:
            finished = attempt.outcome == "finished"
            reached = _reached_a_person(attempt)
            _settle(
                session,
                attempt,
                attempt.checkin,
                finished,
                reached,
                0,
                settings,
                now,
                call_again_if_unfinished,
            )
        return
    state = attempt.flow_state
    for member in members:
        done = households.progress(state, member.position, _reached_a_person(attempt))
        _settle(
            session,
            attempt,
            member.checkin,
            done.finished,
            done.reached,
            member.position,
            settings,
            now,
            call_again_if_unfinished,
        )


def _settle(
    session: Session,
    attempt: CallAttempt,
    checkin: CheckIn,
    finished: bool,
    reached: bool,
    position: int,
    settings: Settings,
    now: dt.datetime,
    call_again_if_unfinished: bool,
) -> None:
    if checkin.status in CLOSED_STATUSES:
        return
    alerts.release_held(session, checkin, now)
    if finished:
        checkin.finished = True
    if reached:
        checkin.reached = True
    checkin.updated_at = now
    retry_at = _retry_at(checkin, settings, now)
    call_again = call_again_if_unfinished and not checkin.finished and retry_at is not None
    if checkin.temperature_c is not None and not call_again:
        answered = _all_answered(session, checkin, attempt, position)
        _close(checkin, "complete" if answered else "partial", now)
        log.info("check-in %s %s after attempt %s", checkin.id, checkin.status, attempt.attempt_no)
        return
    if _other_call_live(session, checkin, attempt):
        log.info("check-in %s: another call is live; it settles the check-in", checkin.id)
        return
    if checkin.round_id is None and checkin.source == "inbound":
        _close(checkin, "partial", now)
        log.info("check-in %s: call-back outside a round closed without a temperature", checkin.id)
        return
    if retry_at is not None:
        checkin.next_attempt_at = retry_at
        log.info(
            "check-in %s: attempt %s failed (%s), retry at %s",
            checkin.id,
            attempt.attempt_no,
            attempt.status or attempt.outcome,
            retry_at.isoformat(),
        )
        return
    if attempt.outcome == UNHEARD and not _really_tried(session, checkin):
        _close_as_our_fault(checkin, attempt, "ended without any webhook reaching us", now)
        return
    close_missed(session, checkin, settings, now)


def _all_answered(session: Session, checkin: CheckIn, attempt: CallAttempt, position: int) -> bool:
    """Reached the end, the reading confirmed, and no question the call moved on from without
    an answer (three wrong keys, silence) is still unanswered for this check-in (the
    household member at ``position`` on a household call)."""
    if not (checkin.finished and checkin.temperature_confirmed):
        return False
    skipped = skipped_by(attempt.flow_state, position)
    if not skipped:
        return True
    query = select(Answer.key).where(Answer.checkin_id == checkin.id, Answer.key.in_(skipped))
    answered = set(session.scalars(query))
    missing = [key for key in skipped if key not in answered]
    if missing:
        log.info("check-in %s: unanswered %s; partial", checkin.id, ", ".join(missing))
    return not missing


def _retry_at(checkin: CheckIn, settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """When to call again, if an attempt is left and it would start inside the window."""
    retry_at = now + dt.timedelta(seconds=settings.retry_delay_s)
    if checkin.attempts < checkin.max_attempts and retry_at < checkin.closes_at:
        return retry_at
    return None


def _other_call_live(session: Session, checkin: CheckIn, attempt: CallAttempt) -> bool:
    query = select(CallAttempt.id).where(
        households.calls_of(checkin),
        CallAttempt.id != attempt.id,
        CallAttempt.state.in_(LIVE_STATES),
    )
    return bool(session.scalar(select(exists(query))))


def _reached_a_person(attempt: CallAttempt) -> bool:
    return attempt.answered_at is not None and attempt.outcome not in ("machine",)


def close_missed(session: Session, checkin: CheckIn, settings: Settings, now: dt.datetime) -> None:
    """Close a check-in that got no temperature, and tell staff (the resident must not vanish)."""
    resident = checkin.resident
    _close(checkin, "missed", now)
    if not resident.monitored_on(checkin.local_date):
        # Staff released the resident or put them on hold: nothing left for anyone to act on.
        log.info("check-in %s missed: resident %s released or on hold", checkin.id, resident.id)
        return
    reason = "no_response" if checkin.reached else "unreachable"
    severity = "urgent" if resident.lives_alone or _missed_last_time(session, checkin) else "high"
    raise_escalation(
        session,
        resident,
        reason,
        severity,
        _attempts_summary(session, checkin, settings.tz),
        now,
        checkin=checkin,
        settings=settings,
        fact=escalation_facts.attempts(checkin),
    )
    log.warning(
        "check-in %s missed (%s, %s) for resident %s", checkin.id, reason, severity, resident.id
    )


def settle_stranded(
    session: Session, attempt: CallAttempt, settings: Settings, now: dt.datetime
) -> None:
    """A claimed attempt Pingan never placed before the window closed (its dial run failed on
    the database and could not give it back). Not the resident's doing, so it raises no
    escalation of its own: the check-in is settled on what its earlier calls got, if any."""
    attempt.state, attempt.outcome, attempt.ended_at = "ended", "not_placed", now
    checkin = attempt.checkin
    if checkin is None or checkin.status in CLOSED_STATUSES:
        return
    if checkin.temperature_c is not None or _really_tried(session, checkin):
        settle_attempt(session, attempt, settings, now)
        return
    _close_as_our_fault(checkin, attempt, "was claimed but never placed", now)


def refund_unheard(session: Session, attempt: CallAttempt, settings: Settings) -> None:
    """A call no webhook of which ever reached us (PINGAN_PUBLIC_URL not served, say) tells
    nothing about the resident: it is given back as an extra attempt, at most as many times as
    a round has attempts (each such call plays the carrier's error message to the resident)."""
    checkin = attempt.checkin
    if checkin is None or checkin.status in CLOSED_STATUSES:
        return
    query = select(func.count()).where(households.calls_of(checkin), CallAttempt.outcome == UNHEARD)
    if int(session.scalar(query) or 0) <= settings.max_attempts:
        checkin.max_attempts += 1


def _really_tried(session: Session, checkin: CheckIn) -> bool:
    """Did any call of the check-in reach the resident's phone and tell us how it went?"""
    query = select(CallAttempt.id).where(
        households.calls_of(checkin),
        CallAttempt.call_sid.is_not(None),
        CallAttempt.outcome.is_distinct_from(UNHEARD),
    )
    return bool(session.scalar(select(exists(query))))


def _close_as_our_fault(
    checkin: CheckIn, attempt: CallAttempt, what: str, now: dt.datetime
) -> None:
    _close(checkin, "missed", now)
    log.error(
        "check-in %s closed missed without an escalation: attempt %s %s before the window "
        "closed (a Pingan fault, not the resident's)",
        checkin.id,
        attempt.id,
        what,
    )


def stop_calls(session: Session, resident: Resident, now: dt.datetime) -> None:
    """After a release or a hold, open check-ins of days the resident is no longer monitored
    stop, without an escalation: one never dialled is withdrawn (nothing happened), one waiting
    for a retry closes as missed now, one in a call gets no retry."""
    query = select(CheckIn).where(CheckIn.resident_id == resident.id, CheckIn.status == OPEN)
    for checkin in session.scalars(query):
        if resident.monitored_on(checkin.local_date):
            continue
        if checkin.next_attempt_at is None:
            checkin.max_attempts = checkin.attempts
        elif _ever_dialled(session, checkin):
            _close(checkin, "missed", now)
        else:
            session.delete(checkin)
        log.info("check-in %s stopped: resident %s released or on hold", checkin.id, resident.id)


def _ever_dialled(session: Session, checkin: CheckIn) -> bool:
    query = select(CallAttempt.id).where(households.calls_of(checkin))
    return bool(session.scalar(select(exists(query))))


def _close(checkin: CheckIn, status: str, now: dt.datetime) -> None:
    checkin.status = status
    checkin.closed_at = now
    checkin.next_attempt_at = None


def _missed_last_time(session: Session, checkin: CheckIn) -> bool:
    """Was the resident's previous closed check-in also missed (two rounds in a row)?"""
    query = (
        select(CheckIn.status)
        .where(
            CheckIn.resident_id == checkin.resident_id,
            CheckIn.id != checkin.id,
            CheckIn.status.in_(CLOSED_STATUSES),
            CheckIn.created_at <= checkin.created_at,
        )
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(1)
    )
    return session.scalar(query) == "missed"


def _attempts_summary(session: Session, checkin: CheckIn, tz: dt.tzinfo) -> str:
    """Every attempt and its outcome, so staff know what was already tried."""
    parts = []
    calls = select(CallAttempt).where(households.calls_of(checkin)).order_by(CallAttempt.id)
    for attempt in session.scalars(calls):
        when = (attempt.placed_at or attempt.created_at).astimezone(tz).strftime("%H:%M")
        what = attempt.status or attempt.state
        if attempt.answered_by and attempt.answered_by != "human":
            what += f" ({attempt.answered_by})"
        elif attempt.status == "completed":
            what += f" ({attempt.outcome or 'answered'})"
        if attempt.carrier_error:
            what += f" [{attempt.carrier_error}]"
        label = "call-back" if attempt.direction == "inbound" else f"attempt {attempt.attempt_no}"
        parts.append(f"{label} {when}: {what}")
    return "; ".join(parts) or "no call could be placed"
