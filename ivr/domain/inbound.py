"""Call-backs: a resident rings the Pingan number (the carrier's first request for the call).

1. The caller ID is matched to a resident (E.164, as stored). A known caller gets an inbound
   ``CallAttempt`` on their open check-in for today, so the call counts for the current round;
   its pending retry is held (``next_attempt_at = None``) while they are on the line, and an
   outbound call already in flight is left alone. Outside a round they get an ad-hoc check-in
   (``round_id`` None, ``source`` "inbound", no outbound attempts) that records needs and the
   temperature like any other.
2. An unknown or withheld number hears the identify flow (``callflows/identify.toml``): key in
   the registered phone number. A match attaches the call to that resident and the check-in
   flow starts in the same reply; two misses or silence put the caller through to the duty
   phone (``PINGAN_DUTY_PHONE``), or tell them staff will call back.
3. The call then runs on the ordinary per-attempt webhooks (gather, dial) and ends through the
   number's status callback, settling like any attempt (``ivr.domain.settle``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callflows import Flow, Hangup, Keys, Outcome, Silence
from ivr.domain import calls, households, release_calls
from ivr.domain.calls import CallEnv, Turn
from ivr.phones import PhoneError, mask_phone, normalize_phone
from storage import CallAttempt, CheckIn, Resident

log = logging.getLogger(__name__)

# What carriers put in From when the caller withholds their number ("ANONYMOUS", "RESTRICTED"
# and "UNAVAILABLE" spelt on a keypad, among others).
WITHHELD = frozenset(
    {"", "anonymous", "unknown", "restricted", "private", "unavailable", "blocked"}
    | {"+266696687", "+7378742833", "+86282452253", "266696687"}
)


@dataclasses.dataclass(frozen=True)
class Flows:
    checkin: Flow
    identify: Flow


def caller_number(raw: str, region: str) -> str | None:
    """The caller's number in E.164, or None when it is withheld or unusable."""
    if raw.strip().lower() in WITHHELD:
        return None
    try:
        return normalize_phone(raw, region)
    except PhoneError:
        return None


def identifying(attempt: CallAttempt) -> bool:
    """An inbound call whose caller we do not know yet runs the identify flow."""
    return attempt.direction == "inbound" and attempt.resident_id is None


def env_for(attempt: CallAttempt, env: CallEnv, flows: Flows) -> CallEnv:
    """The flow this attempt runs, and for an unknown caller the phone-number lookup."""
    if identifying(attempt):
        return dataclasses.replace(env, flow=flows.identify, verify=_verifier(env, flows))
    if release_calls.is_release_call(attempt):
        return release_calls.flow_env(attempt, env)
    return dataclasses.replace(env, flow=flows.checkin)


def on_incoming(
    session: Session, form: Mapping[str, str], env: CallEnv, flows: Flows
) -> tuple[CallAttempt, Turn]:
    """The first request of a call to our number: who is it, and what do they hear first."""
    sid = form.get("CallSid", "")
    raw = form.get("From", "")
    number = caller_number(raw, env.settings.phone_region)
    attempt = _by_call_sid(session, sid) or _new_attempt(session, sid, number or raw[:32], env)
    if attempt is None:  # the same CallSid raced in twice and the other request stored it
        attempt = _by_call_sid(session, sid)
    assert attempt is not None
    if attempt.flow_state is not None:  # Twilio retried the request: carry on with that call
        log.info("incoming call %s: repeated request; continuing attempt %s", sid, attempt.id)
        return attempt, calls.on_answer(session, attempt, form, env_for(attempt, env, flows))
    resident = _resident(session, number)
    if resident is not None:
        attach(session, attempt, resident, flows.checkin, env)
        log.info("incoming call %s from resident %s (%s)", sid, resident.id, mask_phone(raw))
    elif number is not None:
        log.info("incoming call %s from unknown number %s: identify", sid, mask_phone(number))
    else:
        log.info("incoming call %s with a withheld number: identify", sid)
    return attempt, calls.on_answer(session, attempt, form, env_for(attempt, env, flows))


def on_identify_input(
    session: Session,
    attempt: CallAttempt,
    event: Keys | Silence,
    turn: str | None,
    env: CallEnv,
    flows: Flows,
) -> Turn:
    """Keys of an unknown caller; once their number matches, the check-in flow takes over."""
    result = calls.on_input(session, attempt, event, turn, env_for(attempt, env, flows))
    if identifying(attempt) or result.transition.outcome is not Outcome.FINISHED:
        return result
    # Identified: keep what the identify flow just said ("we found you"), drop its hang-up,
    # and start the check-in as if the call had just been answered.
    attempt.flow_state, attempt.outcome = households.reseed(session, attempt), None
    first = calls.start_flow(session, attempt, env_for(attempt, env, flows))
    said = tuple(a for a in result.transition.actions if not isinstance(a, Hangup))
    joined = dataclasses.replace(first.transition, actions=said + first.transition.actions)
    return Turn(joined, first.turn)


def attach(
    session: Session, attempt: CallAttempt, resident: Resident, checkin_flow: Flow, env: CallEnv
) -> CheckIn:
    """Make ``attempt`` the resident's call on their open check-in (or a new ad-hoc one). A
    household's phone: the call asks every member with a check-in still open today (the
    one who has it, when only one has)."""
    due = _household_due(session, resident, env)
    if len(due) > 1:
        return _attach_household(session, attempt, due, checkin_flow)
    if due:
        resident = due[0][0]
    attempt.resident_id, attempt.resident = resident.id, resident
    attempt.phone = attempt.phone or resident.phone
    attempt.language = resident.language
    attempt.flow_name = checkin_flow.name
    checkin = _open_checkin(session, resident, env) or _adhoc_checkin(session, resident, env)
    attempt.checkin_id, attempt.checkin = checkin.id, checkin
    households.add_members(session, attempt, [checkin])  # names them if the phone is shared
    if checkin.next_attempt_at is not None:
        log.info(
            "check-in %s: retry due %s held while resident %s is on the line",
            checkin.id,
            checkin.next_attempt_at.isoformat(),
            resident.id,
        )
        checkin.next_attempt_at = None
    return checkin


def _household_due(
    session: Session, resident: Resident, env: CallEnv
) -> list[tuple[Resident, CheckIn]]:
    due = []
    for mate in households.housemates(session, resident.phone):
        checkin = _open_checkin(session, mate, env)
        if checkin is not None:
            due.append((mate, checkin))
    return due


def _attach_household(
    session: Session,
    attempt: CallAttempt,
    due: list[tuple[Resident, CheckIn]],
    checkin_flow: Flow,
) -> CheckIn:
    resident, checkin = due[0]
    attempt.resident_id, attempt.resident = resident.id, resident
    attempt.phone = attempt.phone or resident.phone
    attempt.language = resident.language
    attempt.flow_name = checkin_flow.name
    attempt.checkin_id, attempt.checkin = checkin.id, checkin
    for _, member in due:
        member.next_attempt_at = None  # held while the household is on the line
    households.add_members(session, attempt, [c for _, c in due])
    log.info("call-back from a household: %d members still due today", len(due))
    return checkin


def _verifier(env: CallEnv, flows: Flows) -> calls.Verifier:
    """Looks up the number an unknown caller keyed; a match attaches the call to them."""

    def verify(session: Session, attempt: CallAttempt, keyed: str) -> bool:
        resident = _resident(session, caller_number(keyed, env.settings.phone_region))
        if resident is None:
            log.info("attempt %s: keyed number %s is not registered", attempt.id, _mask(keyed))
            return False
        attach(session, attempt, resident, flows.checkin, env)
        log.info("attempt %s: caller identified as resident %s", attempt.id, resident.id)
        return True

    return verify


def _mask(keyed: str) -> str:
    return mask_phone(keyed) if len(keyed) > 6 else "*" * len(keyed)


def _by_call_sid(session: Session, sid: str) -> CallAttempt | None:
    if not sid:
        return None
    query = select(CallAttempt).where(CallAttempt.call_sid == sid).with_for_update()
    return session.scalars(query).first()


def _resident(session: Session, number: str | None) -> Resident | None:
    if number is None:
        return None
    return session.scalars(select(Resident).where(Resident.phone == number)).first()


def _new_attempt(session: Session, sid: str, phone: str, env: CallEnv) -> CallAttempt | None:
    """The call's row, or None if another request stored this CallSid first."""
    attempt = CallAttempt(
        code=secrets.token_urlsafe(18),
        call_sid=sid or None,
        attempt_no=0,  # not one of the check-in's outbound attempts
        direction="inbound",
        phone=phone,
        language=env.settings.language,
        state="in_call",
        flow_name="identify",
        created_at=env.now,
        placed_at=env.now,  # lets the sweeper settle it if the final status never arrives
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        return None
    return attempt


def _today(env: CallEnv) -> dt.date:
    return env.now.astimezone(env.settings.tz).date()


def _open_checkin(session: Session, resident: Resident, env: CallEnv) -> CheckIn | None:
    query = (
        select(CheckIn)
        .where(
            CheckIn.resident_id == resident.id,
            CheckIn.status == "pending",
            CheckIn.local_date == _today(env),
            CheckIn.closes_at > env.now,
        )
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .with_for_update()
    )
    return session.scalars(query).first()


def _adhoc_checkin(session: Session, resident: Resident, env: CallEnv) -> CheckIn:
    """A check-in for a call-back outside any round: no outbound call is ever made for it."""
    checkin = CheckIn(
        round_id=None,
        resident_id=resident.id,
        local_date=_today(env),
        status="pending",
        attempts=0,
        max_attempts=0,
        next_attempt_at=None,
        closes_at=env.now,
        source="inbound",
        needs=[],
        created_at=env.now,
        updated_at=env.now,
    )
    session.add(checkin)
    session.flush()
    log.info("resident %s called outside a round: ad-hoc check-in %s", resident.id, checkin.id)
    return checkin
