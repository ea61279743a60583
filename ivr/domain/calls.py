"""One call's life as seen from the webhooks: answered, keys, transfer result, status callbacks.

Each function takes the attempt (loaded and locked by the caller), applies one event through the
call flow, stores what it produced, and returns the ``Transition`` whose actions the webhook
renders as TwiML. Duplicate, stale and late requests are recognised here and change nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from callflows import (
    Answered,
    Checked,
    DialEnded,
    Event,
    Flow,
    HangUp,
    Hangup,
    Keys,
    Silence,
    Transfer,
    Transition,
    advance,
)
from ivr.carriers.telephony import FINAL_STATUSES
from ivr.config import Settings
from ivr.domain import hotpath, news, release_calls, transfer
from ivr.domain.answers import store_answers
from ivr.domain.settle import UNHEARD, refund_unheard, settle_attempt
from storage import CallAttempt

log = logging.getLogger(__name__)

MACHINE_ANSWERS = (
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
)
ANSWERED_BY = frozenset({"human", "unknown", *MACHINE_ANSWERS})  # Twilio's AnsweredBy values
CALL_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress", *FINAL_STATUSES})


Verifier = Callable[[Session, CallAttempt, str], bool]


@dataclass(frozen=True)
class CallEnv:
    """What every call event is handled with: the flow, the settings and the current time.

    ``verify`` looks up a value a flow step asks the app to check (a registered phone number
    keyed by an unknown caller); without it such values are refused.
    """

    flow: Flow
    settings: Settings
    now: dt.datetime
    verify: Verifier | None = None


@dataclass(frozen=True)
class Turn:
    """What a webhook needs to render: the transition, and the turn its gathers belong to."""

    transition: Transition
    turn: int
    leg: int = 0  # which number a transfer in ``transition`` rings (``ivr.domain.transfer``)


def load_attempt(session: Session, code: str) -> CallAttempt | None:
    """The attempt behind a webhook URL, locked so concurrent callbacks for it queue up, with
    its resident, community and check-in (``ivr.domain.hotpath``)."""
    return hotpath.lock_attempt(session, code)


def hangup_only() -> Turn:
    return Turn(Transition({}, (Hangup(),)), 0)


def on_answer(
    session: Session, attempt: CallAttempt, form: Mapping[str, str], env: CallEnv
) -> Turn:
    """The call was picked up: greet a person, leave a short message on a machine."""
    if not same_call(attempt, form) or attempt.status in FINAL_STATUSES:
        log.info("attempt %s: answer request for a call that is over; hanging up", attempt.id)
        return hangup_only()
    if attempt.flow_state and attempt.flow_state.get("step"):
        log.info("attempt %s: repeated answer request; asking the current step again", attempt.id)
        return _apply(session, attempt, Answered(), env)
    answered_by = _answered_by(form)
    attempt.answered_by = answered_by
    attempt.answered_at = attempt.answered_at or env.now
    attempt.state = "in_call"
    _event(session, attempt, env.now, "answer", answered_by or "answered")
    machine = answered_by in MACHINE_ANSWERS
    if not machine:
        _put_news(session, attempt, env)
    return _apply(session, attempt, Answered(machine=machine), env)


def start_flow(session: Session, attempt: CallAttempt, env: CallEnv) -> Turn:
    """Start ``env.flow`` on a call already answered (a caller identified mid-call)."""
    _event(session, attempt, env.now, "flow", env.flow.name)
    _put_news(session, attempt, env)
    return _apply(session, attempt, Answered(), env)


def _put_news(session: Session, attempt: CallAttempt, env: CallEnv) -> None:
    """The flow's news section reads what the app has for this resident (``ivr.domain.news``)."""
    items = news.for_call(session, attempt, env.flow, env.settings.tz, env.now)
    if items:
        attempt.flow_state = {**(attempt.flow_state or {}), "news": items}


def on_input(
    session: Session,
    attempt: CallAttempt,
    event: Keys | Silence | DialEnded,
    turn: str | None,
    env: CallEnv,
) -> Turn:
    """Keys, silence or a transfer result. A request for an older turn is a replay: re-ask."""
    state = attempt.flow_state or {}
    if attempt.status in FINAL_STATUSES or state.get("outcome"):
        log.info("attempt %s: input after the call ended; hanging up", attempt.id)
        return hangup_only()
    if turn != str(state.get("turns", 0)):
        log.warning(
            "attempt %s: stale or replayed input for turn %s (now %s); not applied",
            attempt.id,
            turn,
            state.get("turns", 0),
        )
        return _apply(session, attempt, Answered(), env)
    result = _apply(session, attempt, event, env)
    entry = _whole_entry(event, state, result)
    _log_input(session, attempt, entry, str(state.get("step")), env.now)
    return result


def _whole_entry(event: Event, before: Mapping[str, Any], turn: Turn) -> Event | None:
    """The keys as the resident keyed them, for the timeline: a number's first key and its
    rest arrive in two gathers (``callflows.engine``) and are logged once, as one entry."""
    if turn.transition.state.get("keyed"):
        return None  # the first key of an entry: logged with the rest
    keyed = str(before.get("keyed") or "")
    if keyed and isinstance(event, Keys | Silence):
        return Keys(keyed + (event.digits if isinstance(event, Keys) else ""))
    return event


def on_leg_ended(
    session: Session,
    attempt: CallAttempt,
    leg: int,
    status: str,
    turn: str | None,
    env: CallEnv,
) -> Turn:
    """A transfer leg's Dial action: ring the next number, or tell the flow how it went."""
    state = attempt.flow_state or {}
    live = attempt.status not in FINAL_STATUSES and not state.get("outcome")
    if not live or turn != str(state.get("turns", 0)):
        return on_input(session, attempt, DialEnded(status), turn, env)  # late or replayed
    result = transfer.leg_ended(session, attempt, leg, status, env.settings, env.now)
    if isinstance(result, str):
        return on_input(session, attempt, DialEnded(result), turn, env)
    number = transfer.number_of_leg(session, attempt, result, env.settings, env.now)
    assert number is not None  # leg_ended only names a leg that exists
    transfer.ringing(session, attempt, result, number, env.now)
    again = Transition(state, (Transfer("duty_phone"),))
    return Turn(again, int(state.get("turns", 0)), leg=result)


def _log_input(
    session: Session, attempt: CallAttempt, event: Event | None, step: str, now: dt.datetime
) -> None:
    if isinstance(event, Keys):
        _event(session, attempt, now, "key", step, event.digits)
    elif isinstance(event, Silence):
        _event(session, attempt, now, "silence", step)
    elif isinstance(event, DialEnded):
        _event(session, attempt, now, "dial", event.status)


def _apply(session: Session, attempt: CallAttempt, event: Event, env: CallEnv) -> Turn:
    flow = env.flow
    transition = advance(flow, attempt.flow_state, event)
    if transition.verify is not None:
        ok = env.verify is not None and env.verify(session, attempt, transition.verify)
        transition = _merge(transition, advance(flow, transition.state, Checked(ok)))
    if any(isinstance(a, Transfer) for a in transition.actions):
        legs = transfer.numbers(session, attempt, env.settings, env.now)
        if legs:
            transfer.ringing(session, attempt, 0, legs[0], env.now)
        else:  # nobody to connect to: exactly as if nobody had accepted
            _event(session, attempt, env.now, "dial", "no_one_to_call")
            transition = _merge(transition, advance(flow, transition.state, DialEnded("failed")))
    attempt.flow_state = dict(transition.state)
    news.heard(session, attempt, transition, env.settings.tz, env.now)
    store_answers(session, attempt, transition.answers, flow, env.settings, env.now)
    if transition.outcome is not None:
        attempt.outcome = transition.outcome.value
    return Turn(transition, int(transition.state.get("turns", 0)))


def _merge(first: Transition, second: Transition) -> Transition:
    actions = tuple(a for a in first.actions if not isinstance(a, Transfer)) + second.actions
    return Transition(second.state, actions, first.answers + second.answers, second.outcome)


def on_status(
    session: Session, attempt: CallAttempt, form: Mapping[str, str], env: CallEnv
) -> None:
    """A status callback. Final statuses are set once; older or repeated events are ignored."""
    status = form.get("CallStatus", "")
    sequence = _int(form.get("SequenceNumber"))
    if not same_call(attempt, form):
        log.warning("attempt %s: status %r for another CallSid; ignored", attempt.id, status[:20])
        return
    if status not in CALL_STATUSES:
        log.warning("attempt %s: unknown CallStatus %r; ignored", attempt.id, status[:20])
        return
    if attempt.status in FINAL_STATUSES:
        log.info("attempt %s: %s after final %s; ignored", attempt.id, status, attempt.status)
        return
    if status in FINAL_STATUSES:
        finish_call(
            session,
            attempt,
            status,
            _int(form.get("CallDuration")),
            _answered_by(form),
            env,
        )
        return
    if sequence is not None and sequence <= attempt.last_sequence:
        log.info("attempt %s: out-of-order %s (seq %s); ignored", attempt.id, status, sequence)
        return
    attempt.last_event = status
    attempt.last_sequence = sequence if sequence is not None else attempt.last_sequence
    if status == "in-progress":
        attempt.state = "in_call"
        attempt.answered_at = attempt.answered_at or env.now
    elif attempt.state in ("dialing", "queued"):
        attempt.state = "placed"
    _event(session, attempt, env.now, "status", status)


def finish_call(
    session: Session,
    attempt: CallAttempt,
    status: str,
    duration_s: int | None,
    answered_by: str | None,
    env: CallEnv,
    *,
    cut_off: bool = False,
    unheard: bool = False,
) -> None:
    """Record the carrier's final status, close the flow, and settle the check-in.

    ``cut_off``: we never heard how the call ended (its webhooks failed or were lost), so an
    unfinished check-in is called again rather than closed with what it has. ``unheard``: no
    webhook of the call ever reached us, a fault of ours (see ``settle.refund_unheard``).
    """
    attempt.status = status
    attempt.state = "ended"
    attempt.ended_at = env.now
    attempt.duration_s = duration_s
    attempt.answered_by = attempt.answered_by or answered_by
    if attempt.flow_state and not attempt.flow_state.get("outcome"):
        _apply(session, attempt, HangUp(), env)
    if unheard:
        attempt.outcome = UNHEARD
        refund_unheard(session, attempt, env.settings)
    if attempt.outcome is None:
        attempt.outcome = "not_reached" if attempt.answered_at is None else "hung_up"
    _event(
        session,
        attempt,
        env.now,
        "status",
        status,
        f"{duration_s}s" if duration_s is not None else None,
    )
    settle_attempt(session, attempt, env.settings, env.now, call_again_if_unfinished=cut_off)
    if release_calls.is_release_call(attempt):
        release_calls.ended(session, attempt, env.settings, env.now)


def attach_call_sid(attempt: CallAttempt, form: Mapping[str, str], now: dt.datetime) -> None:
    """A webhook can be the first we hear of a CallSid: the dialer died before saving it, or
    its request timed out although the carrier created the call (then it must not be placed
    again, and the sweeper needs to know since when it exists)."""
    sid = form.get("CallSid")
    if sid and attempt.call_sid is None:
        attempt.call_sid = sid
        attempt.placed_at = attempt.placed_at or now
        if attempt.state in ("queued", "dialing"):
            attempt.state = "placed"


def same_call(attempt: CallAttempt, form: Mapping[str, str]) -> bool:
    """Is this request about the attempt's call (or the first we hear of its CallSid)?"""
    sid = form.get("CallSid")
    return attempt.call_sid is None or not sid or sid == attempt.call_sid


def _answered_by(form: Mapping[str, str]) -> str | None:
    value = form.get("AnsweredBy") or None
    return value if value in ANSWERED_BY else None


def _event(
    session: Session,
    attempt: CallAttempt,
    now: dt.datetime,
    kind: str,
    name: str,
    detail: str | None = None,
) -> None:
    hotpath.add_event(session, attempt, now, kind, name[:64], detail[:500] if detail else None)


def _int(raw: str | None) -> int | None:
    """A count Twilio sends (seconds, a sequence number); None unless plainly one."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        return None
    return int(raw)
