"""The call's ``FallbackUrl``: what the carrier plays when a webhook fails (no answer within its
15 s, an HTTP error, a broken document). Without it Twilio plays its own English "application
error" to a resident who expects Mandarin.

The document is static: the apology in the resident's language (named in the URL), with no
signature, no database and nothing about the caller, so it is served even while the database
is down, and may be copied to any web server or bucket.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request

from ivr import flow_of, settings_of
from ivr.web.voice import bp
from ivr.web.voice.context import voice_for
from ivr.web.voice.twiml import apology

log = logging.getLogger(__name__)


@bp.route("/fallback/<lang>.xml", methods=["GET", "POST"])
def fallback(lang: str) -> Response:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    flow = flow_of(app)
    voice = voice_for(flow, lang, settings_of(app))
    error = request.values.get("ErrorCode", "")[:8]
    log.warning("carrier fell back (error %s): the caller hears the %s apology", error, voice.lang)
    xml = apology(flow.catalogue, voice)
    return Response(xml, status=200, mimetype="text/xml", headers={"Cache-Control": "max-age=300"})
