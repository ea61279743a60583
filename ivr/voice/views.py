"""The webhook endpoints. Each is thin: verify, load the attempt, apply one event, render.

Whatever goes wrong, the caller hears something sensible: an unknown or finished call gets a
polite hang-up (200), and a database failure gets an apology (``errors.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, current_app, request, url_for
from sqlalchemy.orm import Session

from callflows import DialEnded
from ivr import calls, clock_of, flow_of, settings_of
from ivr.db import session_scope
from ivr.voice import bp
from ivr.voice.context import prompt_args, voice_for
from ivr.voice.keys import event_from_digits
from ivr.voice.signature import public_url, twilio_signed
from ivr.voice.twiml import Render, render
from storage import CallAttempt

log = logging.getLogger(__name__)

Handler = Callable[[Session, CallAttempt], calls.Turn]


@bp.post("/<code>/answer")
@twilio_signed
def answer(code: str) -> Response:
    return _turn(code, lambda s, a: calls.on_answer(s, a, request.form, _env()))


@bp.post("/<code>/gather")
@twilio_signed
def gather(code: str) -> Response:
    event = event_from_digits(request.form.get("Digits", ""))
    turn = request.args.get("t")
    return _turn(code, lambda s, a: calls.on_input(s, a, event, turn, _env()))


@bp.post("/<code>/dial")
@twilio_signed
def dial(code: str) -> Response:
    event = DialEnded(request.form.get("DialCallStatus", "failed"))
    turn = request.args.get("t")
    return _turn(code, lambda s, a: calls.on_input(s, a, event, turn, _env()))


@bp.post("/<code>/status")
@twilio_signed
def status(code: str) -> Response:
    with session_scope() as session:
        attempt = calls.load_attempt(session, code)
        if attempt is None:
            log.warning(
                "status callback for unknown call %s (%s); ignored",
                code,
                request.form.get("CallSid"),
            )
        else:
            calls.attach_call_sid(attempt, request.form)
            calls.on_status(session, attempt, request.form, _env())
    return Response(status=204)


def _env() -> calls.CallEnv:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return calls.CallEnv(flow_of(app), settings_of(app), clock_of(app).now())


def _turn(code: str, handler: Handler) -> Response:
    with session_scope() as session:
        attempt = calls.load_attempt(session, code)
        if attempt is None:
            log.warning("webhook %s for unknown call %s; hanging up", request.path, code)
            return _twiml(render(calls.hangup_only().transition.actions, _plain_render()))
        calls.attach_call_sid(attempt, request.form)
        turn = handler(session, attempt)
        return _twiml(render(turn.transition.actions, _render_for(attempt, turn.turn)))


def _render_for(attempt: CallAttempt, turn: int) -> Render:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings, flow = settings_of(app), flow_of(app)
    base = public_url(app)
    resident = attempt.resident
    return Render(
        catalogue=flow.catalogue,
        voice=voice_for(flow, attempt.language, settings),
        args=prompt_args(attempt),
        gather_url=lambda: base + url_for("voice.gather", code=attempt.code, t=turn),
        dial_url=lambda: base + url_for("voice.dial", code=attempt.code, t=turn),
        transfer_to=resident.community.duty_phone if resident else None,
        caller_id=settings.caller_id,
    )


def _plain_render() -> Render:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    flow = flow_of(app)
    return Render(flow.catalogue, voice_for(flow, None, settings_of(app)))


def _twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")
