"""HTTP servers that misbehave on request: a gateway in front of the simulated carrier's REST
API, and a group-chat webhook that hangs.

Each create request of the gateway (``POST …/Calls.json``, or of the paths it is given, such as
``/Messages.json``) takes the next fault of a plan:

* ``pass``: forwarded;
* ``503``, ``500``, ``429``: answered with Twilio's error body, not forwarded;
* ``drop``: held longer than the client waits, then forgotten (the call never exists);
* ``late``: held longer than the client waits, then forwarded anyway, so the carrier creates the
  call after the client gave up on it: the ambiguous timeout a retry must not double;
* ``lost-reply``: forwarded at once, but the answer is held until the client gave up (the call
  exists and its webhooks arrive while the client still waits).

Every other request (fetching a call, listing texts) is forwarded untouched.

``HangingWebhook`` records every post it receives, and holds its answer to the first ``hangs``
of them longer than the client waits: the post arrived, the client saw a timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from ivr.carriers.simulator import WsgiServer

TWILIO_ERRORS = {
    "500": (20500, "Internal Server Error"),
    "503": (20503, "Service Unavailable"),
    "429": (20429, "Too Many Requests"),
}


class FaultyGateway:
    def __init__(
        self,
        upstream: str,
        plan: Iterable[str],
        hold_s: float,
        faulted: tuple[str, ...] = ("/Calls.json",),
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.faulted = faulted
        self.hold_s = hold_s
        self.seen: list[str] = []  # the fault each create request met, in order
        self._plan = list(plan)
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        app = Flask(__name__)
        app.add_url_rule("/<path:path>", "any", self._any, methods=["GET", "POST"])
        self._server = WsgiServer(app)
        self.url = self._server.base_url

    def wait_idle(self, timeout: float = 30) -> bool:
        """Until no request is held or being forwarded (a late create has reached the carrier)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def close(self) -> None:
        self.wait_idle()
        self._server.stop()

    def _any(self, path: str) -> Any:
        with self._lock:
            self._busy += 1
        try:
            return self._handle(path)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _handle(self, path: str) -> Any:
        fault = "pass"
        if request.method == "POST" and path.endswith(self.faulted):
            with self._lock:
                fault = self._plan.pop(0) if self._plan else "pass"
                self.seen.append(fault)
        if fault in TWILIO_ERRORS:
            code, message = TWILIO_ERRORS[fault]
            body = {
                "code": code,
                "message": message,
                "status": int(fault),
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
            return jsonify(body), int(fault)
        if fault in ("drop", "late"):
            time.sleep(self.hold_s)  # the client's timeout passes meanwhile
            if fault == "drop":
                return Response(status=504)
        reply = self._forward(path)
        if fault == "lost-reply":
            time.sleep(self.hold_s)
        return reply

    def _forward(self, path: str) -> Response:
        reply = requests.request(
            request.method,
            f"{self.upstream}/{path}",
            params=request.args,
            data=list(request.form.items(multi=True)) if request.method == "POST" else None,
            headers={"Authorization": request.headers.get("Authorization", "")},
            timeout=30,
        )
        return Response(
            reply.content, reply.status_code, content_type=reply.headers.get("Content-Type")
        )


class HangingWebhook:
    """A chat webhook that receives every post and answers ``{"errcode": 0}``, after holding
    the answers to its first ``hangs`` posts for ``hold_s`` (longer than the client waits)."""

    def __init__(self, hangs: int, hold_s: float) -> None:
        self.hangs = hangs
        self.hold_s = hold_s
        self.posts: list[dict[str, Any]] = []
        self.keys: list[str | None] = []  # each post's Idempotency-Key header
        self._lock = threading.Lock()
        app = Flask(__name__)
        app.add_url_rule("/<path:path>", "hook", self._hook, methods=["POST"])
        self._server = WsgiServer(app)
        self.url = f"{self._server.base_url}/cgi-bin/webhook/send?key=robot-key"

    def close(self) -> None:
        self._server.stop()

    def _hook(self, path: str) -> Any:
        with self._lock:
            self.posts.append(json.loads(request.get_data()))
            self.keys.append(request.headers.get("Idempotency-Key"))
            hang = len(self.posts) <= self.hangs
        if hang:
            time.sleep(self.hold_s)
        return jsonify({"errcode": 0, "errmsg": "ok"})
