"""What a refused call means: try the same attempt later, give up on the number, or halt.

* transient (429, 5xx, timeouts): the same attempt goes back to the queue with backoff and does
  not count, since no call was made;
* bad credentials: the same, and dialing halts for every worker until an operator restarts it;
* bad number (21211, 21214, …): the resident is not called again and staff get ``bad_phone``;
* any other refusal: a failed attempt like a busy line (retried within the round).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from ivr.carriers.telephony import CarrierError, ErrorKind
from ivr.config import Settings
from ivr.domain import audit, escalation_facts, households
from ivr.domain.escalations import raise_escalation
from ivr.domain.settle import settle_attempt
from ivr.phones import mask_phones_in
from ivr.worker import halt
from storage import CallAttempt, CheckIn, Resident

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300


def handle_refusal(
    session: Session, attempt: CallAttempt, exc: CarrierError, settings: Settings, now: dt.datetime
) -> None:
    attempt.carrier_error_code = exc.code
    attempt.carrier_error = str(exc)[:300]
    if exc.kind in (ErrorKind.TRANSIENT, ErrorKind.AUTH):
        _requeue(session, attempt, exc, now)
    elif exc.kind == ErrorKind.BAD_NUMBER:
        _bad_number(session, attempt, exc, settings, now)
    else:
        log.error(
            "attempt %s refused by the carrier (%s %s): %s",
            attempt.id,
            exc.status,
            exc.code,
            mask_phones_in(str(exc)),
        )
        end_unplaced(session, attempt, settings, now, status="failed")


def end_unplaced(
    session: Session,
    attempt: CallAttempt,
    settings: Settings,
    now: dt.datetime,
    status: str | None = None,
) -> None:
    """The attempt ends without a call; the check-in is settled as after a failed call."""
    attempt.state = "ended"
    attempt.status = status
    attempt.outcome = "not_placed"
    attempt.ended_at = now
    settle_attempt(session, attempt, settings, now)


def _requeue(session: Session, attempt: CallAttempt, exc: CarrierError, now: dt.datetime) -> None:
    attempt.deferrals += 1
    delay = min(MAX_BACKOFF_S, 5 * 2 ** min(attempt.deferrals - 1, 6))
    attempt.state, attempt.claimed_by = "queued", None
    attempt.due_at = now + dt.timedelta(seconds=delay)
    if exc.kind == ErrorKind.AUTH:
        halt.halt(session, f"carrier rejected our credentials ({exc.code}): {exc}", now)
        log.critical(
            "DIALING HALTED: the carrier rejected our credentials (%s): %s",
            exc.code,
            mask_phones_in(str(exc)),
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
    session: Session,
    attempt: CallAttempt,
    exc: CarrierError,
    settings: Settings,
    now: dt.datetime,
) -> None:
    attempt.state, attempt.status, attempt.outcome, attempt.ended_at = (
        "ended",
        "failed",
        "bad_number",
        now,
    )
    for member in households.members_of(session, attempt):  # the phone is every member's
        _number_refused(session, member.checkin, member.resident, exc, settings, now)


def _number_refused(
    session: Session,
    checkin: CheckIn,
    resident: Resident,
    exc: CarrierError,
    settings: Settings,
    now: dt.datetime,
) -> None:
    resident.phone_invalid_at = now
    resident.phone_error = _code_and_message(exc)[:200]
    checkin.status, checkin.closed_at, checkin.next_attempt_at = "missed", now, None
    raise_escalation(
        session,
        resident,
        "bad_phone",
        "high",
        f"the carrier cannot call {resident.phone}: {_code_and_message(exc)}",
        now,
        checkin=checkin,
        settings=settings,
        fact=escalation_facts.carrier_refused(exc.code, str(exc)),
    )
    audit.record(
        session, now, audit.SYSTEM, "phone_invalid", "resident", resident.id, _code_and_message(exc)
    )
    log.error(
        "resident %s: number refused by the carrier (%s); calls stopped",
        resident.id,
        mask_phones_in(_code_and_message(exc))[:120],
    )


def _code_and_message(exc: CarrierError) -> str:
    """``21215: Account not authorized …``; VMS codes are words and already lead the message."""
    return f"{exc.code}: {exc}" if exc.code is not None else str(exc)
