"""Calls to the Pingan number: Twilio's "A call comes in" webhook and the number's status
callback (see docs/inbound.md). The call then continues on the per-attempt webhooks."""

from __future__ import annotations

import logging

from flask import Response, current_app, request
from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain import calls, inbound
from ivr.web.voice import bp
from ivr.web.voice.context import base_env, call_env, flows_of, render_for
from ivr.web.voice.params import CALL, STATUS, expects, names_a_call
from ivr.web.voice.signature import twilio_signed
from ivr.web.voice.twiml import render
from storage import CallAttempt

log = logging.getLogger(__name__)


@bp.post("/incoming")
@twilio_signed
@expects(CALL)
@names_a_call
def incoming() -> Response:
    with session_scope() as session:
        attempt, turn = inbound.on_incoming(
            session, request.form, base_env(), flows_of(current_app)
        )
        xml = render(turn.transition.actions, render_for(attempt, turn.turn))
    return Response(xml, status=200, mimetype="text/xml")


@bp.post("/incoming/status")
@twilio_signed
@expects(STATUS)
@names_a_call
def incoming_status() -> Response:
    sid = request.form.get("CallSid", "")
    with session_scope() as session:
        query = select(CallAttempt).where(CallAttempt.call_sid == sid).with_for_update()
        attempt = session.scalars(query).first() if sid else None
        if attempt is None:
            log.warning("status callback for unknown incoming call %s; ignored", sid or "-")
        else:
            calls.on_status(session, attempt, request.form, call_env(attempt))
    return Response(status=200)
