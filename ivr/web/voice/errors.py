"""What the carrier gets when a webhook cannot be served: never a 500.

A 500 (or no answer within 15 s) makes Twilio play its own English "application error" to an
elderly resident who expects Mandarin. So:

* the database is unreachable (restart, failover, network): the caller hears our apology ("we
  will call you again") in the deployment's default language — without the database we cannot
  know theirs — and the call ends. Nothing was written: the request's transaction never
  committed, and everything stored by earlier requests stays. When the database is back the
  sweeper looks the call up at the carrier and schedules the check-in again
  (``ivr.worker.sweeper``).
* a status callback in the same situation gets 503: Twilio does not retry status callbacks, and
  the sweeper settles the call from the carrier's record instead.
* any other exception is a bug: logged with its traceback, and the caller still hears the
  apology rather than Twilio's message.
"""

from __future__ import annotations

import logging

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from ivr import flow_of, settings_of
from ivr.db_errors import database_unavailable
from ivr.web.voice import bp
from ivr.web.voice.context import voice_for
from ivr.web.voice.twiml import apology

log = logging.getLogger(__name__)

# Endpoints whose reply the carrier does not play (status callbacks): they get a bare status.
STATUS_ENDPOINTS = frozenset(
    {"voice.status", "voice.alert_status", "voice.incoming_status", "voice.prompt_media"}
)


@bp.errorhandler(Exception)
def _failed(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException):  # 403, 404, 413…: already a proper answer
        return exc
    if database_unavailable(exc):
        log.warning(
            "database unavailable during %s (%s); %s",
            request.path,
            exc.__class__.__name__,
            "answered 503" if request.endpoint in STATUS_ENDPOINTS else "caller hears an apology",
        )
    else:
        log.exception("webhook %s failed", request.path)
    if request.endpoint in STATUS_ENDPOINTS:
        return Response(status=503)
    return Response(_apology_twiml(), status=200, mimetype="text/xml")


def _apology_twiml() -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    flow = flow_of(app)
    return apology(flow.catalogue, voice_for(flow, None, settings_of(app)))
