"""The webhook endpoints. Each is thin: verify, load the attempt, apply one event, render.

Whatever goes wrong, the caller hears something sensible: an unknown or finished call gets a
polite hang-up (200), and a database failure gets an apology (``errors.py``), never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, current_app, request
from sqlalchemy.orm import Session

from callflows import Keys, Silence
from ivr import clock_of
from ivr.db import session_scope
from ivr.domain import calls, inbound, transfer
from ivr.domain.hotpath import call_transaction
from ivr.web.voice import bp, twiml
from ivr.web.voice.context import (
    base_env,
    call_env,
    flows_of,
    plain_render,
    render_for,
    staff_render,
)
from ivr.web.voice.keys import event_from_digits
from ivr.web.voice.params import CALL, DIAL, GATHER, STATUS, expects, names_a_call
from ivr.web.voice.signature import twilio_signed
from ivr.web.voice.twiml import render
from storage import CallAttempt

log = logging.getLogger(__name__)

Handler = Callable[[Session, CallAttempt], calls.Turn]


@bp.post("/<code>/answer")
@twilio_signed
@expects(CALL)
@names_a_call
def answer(code: str) -> Response:
    return _turn(code, lambda s, a: calls.on_answer(s, a, request.form, call_env(a)))


@bp.post("/<code>/gather")
@twilio_signed
@expects(GATHER)
@names_a_call
def gather(code: str) -> Response:
    event = event_from_digits(request.form.get("Digits", ""))
    turn = request.args.get("t")
    return _turn(code, lambda s, a: _keys(s, a, event, turn))


@bp.post("/<code>/dial")
@twilio_signed
@expects(DIAL)
@names_a_call
def dial(code: str) -> Response:
    status = request.form.get("DialCallStatus", "failed")
    turn, leg = request.args.get("t"), _leg()
    return _turn(code, lambda s, a: calls.on_leg_ended(s, a, leg, status, turn, call_env(a)))


@bp.post("/<code>/screen")
@twilio_signed
@expects(CALL)
@names_a_call
def screen(code: str) -> Response:
    """A transfer's callee picked up (a person or their voicemail): ask them to press 1."""
    with session_scope() as session:
        attempt = _leg_attempt(session, code)
        if attempt is None:
            return _twiml(twiml.hangup())
        return _twiml(twiml.screen(staff_render(attempt, _leg()), transfer.SCREEN_TIMEOUT_S))


@bp.post("/<code>/screened")
@twilio_signed
@expects(GATHER)
@names_a_call
def screened(code: str) -> Response:
    with session_scope() as session:
        attempt = _leg_attempt(session, code)
        digits = request.form.get("Digits", "")
        now = clock_of(current_app).now()
        if attempt is None or not transfer.screened(session, attempt, _leg(), digits, now):
            return _twiml(twiml.hangup())
        return _twiml(twiml.connect())


def _leg() -> int:
    raw = request.args.get("leg", "0")
    return int(raw) if raw.isdigit() and len(raw) < 4 else 0


def _leg_attempt(session: Session, code: str) -> CallAttempt | None:
    attempt = calls.load_attempt(session, code)
    if attempt is None or not transfer.is_leg_of(attempt, request.form):
        log.warning("screen %s for no transfer of ours (%s); hanging up", request.path, code)
        return None
    return attempt


@bp.post("/<code>/status")
@twilio_signed
@expects(STATUS)
@names_a_call
def status(code: str) -> Response:
    with call_transaction(code) as (session, attempt):
        if attempt is None:
            log.warning(
                "status callback for unknown call %s (%s); ignored",
                code,
                request.form.get("CallSid"),
            )
        else:
            calls.attach_call_sid(attempt, request.form, clock_of(current_app).now())
            calls.on_status(session, attempt, request.form, call_env(attempt))
    return Response(status=200)


def _keys(
    session: Session, attempt: CallAttempt, event: Keys | Silence, turn: str | None
) -> calls.Turn:
    if inbound.identifying(attempt):  # a caller keying in their registered number
        flows = flows_of(current_app)
        return inbound.on_identify_input(session, attempt, event, turn, base_env(), flows)
    return calls.on_input(session, attempt, event, turn, call_env(attempt))


def _turn(code: str, handler: Handler) -> Response:
    with call_transaction(code) as (session, attempt):
        if attempt is None:
            log.warning("webhook %s for unknown call %s; hanging up", request.path, code)
            return _twiml(render(calls.hangup_only().transition.actions, plain_render()))
        if not calls.same_call(attempt, request.form):
            log.warning("webhook %s for another CallSid than its call's; hanging up", request.path)
            return _twiml(render(calls.hangup_only().transition.actions, plain_render()))
        calls.attach_call_sid(attempt, request.form, clock_of(current_app).now())
        turn = handler(session, attempt)
        how = render_for(attempt, turn.turn, turn.leg)
        return _twiml(render(turn.transition.actions, how))


def _twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")
