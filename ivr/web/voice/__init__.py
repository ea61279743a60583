"""The Twilio voice webhooks: answer, gather, dial and status callbacks for each call, calls to
the Pingan number (``incoming``), and recorded prompts (``media``)."""

from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/voice")

from ivr.web.voice import alert, errors, fallback, incoming, media, views  # noqa: E402,F401  (register on bp)
