"""The simulated carrier: Twilio played locally, with scripted residents on the other end.

``SimulatedCarrier`` implements ``ivr.carriers.telephony.Carrier``: calls it accepts really request
the
app's webhooks over HTTP, signed with ``X-Twilio-Signature``, and every TwiML answer is checked
as strictly as Twilio checks it. ``serve_rest`` puts a Twilio-compatible REST API in front of it
so the official SDK (and so ``TwilioCarrier``) can drive it too.
"""

from __future__ import annotations

from ivr.carriers.simulator.behaviour import Behaviour
from ivr.carriers.simulator.carrier import DEFAULT_BEHAVIOUR, SimulatedCarrier, refusal
from ivr.carriers.simulator.engine import CallRunner, collect_dtmf
from ivr.carriers.simulator.records import (
    CallError,
    CallRecord,
    CallRequest,
    Dialed,
    Exchange,
    Gathered,
    Heard,
)
from ivr.carriers.simulator.rest import WsgiServer, create_rest_app, serve_rest
from ivr.carriers.simulator.twiml import Document, TwimlError, parse, read_reply
from ivr.carriers.simulator.webhook import WebhookClient, WebhookError

__all__ = [
    "DEFAULT_BEHAVIOUR",
    "Behaviour",
    "CallError",
    "CallRecord",
    "CallRequest",
    "CallRunner",
    "Dialed",
    "Document",
    "Exchange",
    "Gathered",
    "Heard",
    "SimulatedCarrier",
    "TwimlError",
    "WebhookClient",
    "WebhookError",
    "WsgiServer",
    "collect_dtmf",
    "create_rest_app",
    "parse",
    "read_reply",
    "refusal",
    "serve_rest",
]
