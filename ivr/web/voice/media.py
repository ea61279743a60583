"""Recorded prompts served to the carrier, which fetches ``<Play>`` media with a plain GET.

Only files listed in a language folder of the recordings (``ivr.domain.recordings``) are served,
with
their audio type; anything else is a 404. No signature: Twilio does not sign media requests.
"""

from __future__ import annotations

import logging

from flask import Response, abort, current_app, send_file

from ivr import flow_of, settings_of
from ivr.domain import notice_recordings
from ivr.domain.recordings import AUDIO_TYPES, recordings_of
from ivr.web.voice import bp

log = logging.getLogger(__name__)


@bp.get("/prompts/<lang>/<file_name>")
def prompt_media(lang: str, file_name: str) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    path = None
    if lang in flow_of(app).catalogue.languages:
        path = recordings_of(app).file(lang, file_name)
    if path is None:
        log.warning("no recorded prompt %s/%s; 404", lang, file_name)
        abort(404)
    response = send_file(path, mimetype=AUDIO_TYPES[path.suffix], max_age=300)
    return response


@bp.get("/notices/<file_name>")
def notice_media(file_name: str) -> Response:
    """A notice's own recording (its unguessable name is the only key, as Twilio sends none)."""
    path = notice_recordings.file_of(settings_of(current_app), file_name)
    if path is None:
        log.warning("no notice recording %s; 404", file_name)
        abort(404)
    return send_file(path, mimetype=notice_recordings.mimetype(path), max_age=300)
