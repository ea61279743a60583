"""The staff alert call's Twilio webhooks (``ivr.domain.alert_calls``): signed, whitelisted and
naming
a call exactly like a check-in call's, so a forged request gets 403 and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, request, url_for
from sqlalchemy.orm import Session

from callflows import STAFF_ALERT_FLOW, Flow, Transition, load_flow
from ivr import clock_of, settings_of
from ivr.carriers.telephony import FINAL_STATUSES
from ivr.db import session_scope
from ivr.domain import alert_calls
from ivr.web.voice import bp
from ivr.web.voice.context import media_urls, voice_for
from ivr.web.voice.keys import event_from_digits
from ivr.web.voice.params import CALL, GATHER, STATUS, expects, names_a_call
from ivr.web.voice.signature import public_url, twilio_signed
from ivr.web.voice.twiml import Render, render
from storage import AlertCall

log = logging.getLogger(__name__)

Handler = Callable[[Session, AlertCall], Transition]


def alert_flow(app: Flask) -> Flow:
    """The staff alert flow, read once per app."""
    flow: Flow | None = app.extensions.get("pingan.staff_alert_flow")
    if flow is None:
        flow = app.extensions["pingan.staff_alert_flow"] = load_flow(STAFF_ALERT_FLOW)
    return flow


def alert_render(ring: AlertCall, turn: int) -> Render:
    """How the ring sounds: the deployment's language, the escalation's words."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    flow, settings = alert_flow(app), settings_of(app)
    voice = voice_for(flow, ring.language, settings)
    base = public_url(app)
    return Render(
        catalogue=flow.catalogue,
        voice=voice,
        args=alert_calls.prompt_args(ring, flow),
        gather_url=lambda: base + url_for("voice.alert_gather", code=ring.code, t=turn),
        recorded=media_urls(app, voice.lang),
    )


def turn_of(transition: Transition) -> int:
    return int(transition.state.get("turns", 0))


@bp.post("/alert/<code>/answer")
@twilio_signed
@expects(CALL)
@names_a_call
def alert_answer(code: str) -> Response:
    answered_by = request.form.get("AnsweredBy") or None
    return _turn(
        code,
        lambda s, r: alert_calls.on_answer(
            s, r, answered_by, alert_flow(current_app), clock_of(current_app).now()
        ),
    )


@bp.post("/alert/<code>/gather")
@twilio_signed
@expects(GATHER)
@names_a_call
def alert_gather(code: str) -> Response:
    event = event_from_digits(request.form.get("Digits", ""))
    turn = request.args.get("t")
    return _turn(
        code,
        lambda s, r: alert_calls.on_input(
            s, r, event, turn, alert_flow(current_app), clock_of(current_app).now()
        ),
    )


@bp.post("/alert/<code>/status")
@twilio_signed
@expects(STATUS)
@names_a_call
def alert_status(code: str) -> Response:
    status = request.form.get("CallStatus", "")
    if status not in FINAL_STATUSES:
        return Response(status=200)  # ringing, answered: the answer webhook tells us more
    with session_scope() as session:
        ring = alert_calls.load(session, code)
        sid = request.form.get("CallSid")
        if ring is None or not alert_calls.same_call(ring, sid):
            log.warning("alert call status for unknown call %s; ignored", code)
            return Response(status=200)
        now = clock_of(current_app).now()
        alert_calls.attach_call_sid(ring, sid, now)
        answered_by = request.form.get("AnsweredBy") or None
        settings = settings_of(current_app)
        flow = alert_flow(current_app)
        alert_calls.on_final(session, ring, status, answered_by, settings, flow, now)
    return Response(status=200)


def _turn(code: str, handler: Handler) -> Response:
    with session_scope() as session:
        ring = alert_calls.load(session, code)
        sid = request.form.get("CallSid")
        if ring is None or not alert_calls.same_call(ring, sid):
            log.warning("alert call webhook %s for unknown call %s; hanging up", request.path, code)
            return _twiml(render(alert_calls.hang_up().actions, _plain()))
        alert_calls.attach_call_sid(ring, sid, clock_of(current_app).now())
        transition = handler(session, ring)
        return _twiml(render(transition.actions, alert_render(ring, turn_of(transition))))


def _plain() -> Render:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    flow = alert_flow(app)
    return Render(flow.catalogue, voice_for(flow, None, settings_of(app)))


def _twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")
