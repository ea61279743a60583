"""A tiny stand-in for a Twilio webhook app, used by the simulator tests (not Pingan itself).

It validates ``X-Twilio-Signature`` with the SDK's ``RequestValidator`` against its own public
URL, records every request, and answers each path with whatever TwiML the test registered, so
each test states exactly the app behaviour it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

AUTH_TOKEN = "sim-test-auth-token"
ACCOUNT_SID = "AC" + "5" * 32
ELDER = "+8613800138000"
APP_NUMBER = "+8675512345678"
ALL_EVENTS = ("initiated", "ringing", "answered", "completed")

Handler = Callable[[Mapping[str, str]], Any]


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    signature_valid: bool


class StandIn:
    """A webhook app: ``twiml(path, doc)`` or ``on(path, handler)`` decide what each path says."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.base_url = ""
        self.hits: list[Hit] = []
        self.handlers: dict[str, Handler] = {}
        self.app = Flask("standin")
        self.app.add_url_rule("/<path:path>", "any", self._handle, methods=["GET", "POST"])

    def reset(self) -> None:
        self.hits.clear()
        self.handlers.clear()

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def twiml(self, path: str, document: VoiceResponse | str) -> None:
        self.on(path, lambda _params: document)

    def hits_to(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    def _handle(self, path: str) -> Any:
        if request.method == "POST":
            url, params = request.url, request.form.to_dict()
        else:  # request.url re-encodes the query, so sign-check the raw one (contract §5)
            url = request.base_url + (
                "?" + request.query_string.decode() if request.query_string else ""
            )
            params = request.args.to_dict()
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = self.validator.validate(
            url, request.form if request.method == "POST" else {}, signature
        )
        self.hits.append(Hit(request.method, "/" + path, params, dict(request.headers), valid))
        if not valid:
            abort(403)
        handler = self.handlers.get("/" + path)
        if handler is None:
            return "", 204  # status callbacks and anything unregistered
        answer = handler(params)
        if isinstance(answer, VoiceResponse):
            return Response(str(answer), mimetype="text/xml")
        return answer
