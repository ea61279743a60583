"""Alibaba Cloud VMS played locally, as faithfully as ``ivr.carriers.simulator`` plays Twilio.

``AliyunSimulator`` serves the dyvmsapi endpoint the official SDK talks to (``SmartCall``, signed
``ACS3-HMAC-SHA256``; point ``PINGAN_ALIYUN_ENDPOINT`` at it) and refuses what the platform
refuses: an unknown AccessKey, a bad signature, a ``CalledShowNumber`` that is not the number
bought, a ``CalledNumber`` outside mainland China. Each call it accepts is played by a scripted
resident (``Behaviour``, the Twilio simulator's language): it posts the 智能外呼 callbacks to the
URL set "in the console" (``callback_url``) over HTTP, one ``dtmf`` callback per key and
``mute`` after silence, obeys the JSON replies, and finally pushes the call receipt (unless
``lose_receipts`` is set: then only ``QueryCallDetailByCallId`` knows how the call ended).
A ``transfer`` reply is a blind transfer: the number is recorded in ``dials`` and the call
leaves the callbacks, as on the platform.

``incoming_call`` is a resident ringing the number bought (智能语音交互呼入): the first callback
is ``callin`` with the caller and callee, whose reply may only ``answer`` or ``hangup``; then the
call goes on with ``dtmf`` and ``mute`` callbacks like an outbound one. A call to a number the
account does not own never reaches the callback: it is refused before anything is posted.

Not Alibaba Cloud: ``GET /simulator/calls.json`` (HTTP basic auth with the AccessKey ID and
secret) lists every call accepted and when, so tests running Pingan in other processes can count
what the platform was asked to do (as the Twilio simulator's ``Calls.json`` and
``SimulatorStats.json``). A behaviour's ``faults=drop_status`` loses that call's receipt.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify

from ivr.carriers.aliyun import gateway
from ivr.carriers.aliyun.actions import FORBIDDEN, Cursor, e164, national
from ivr.carriers.simulator import DEFAULT_BEHAVIOUR, Behaviour
from ivr.carriers.simulator.behaviour import HANG_UP, SILENCE
from ivr.carriers.simulator.records import Dialed
from ivr.carriers.simulator.rest import WsgiServer
from ivr.carriers.telephony import BAD_NUMBER_CODES

log = logging.getLogger(__name__)

MAINLAND = re.compile(r"1[3-9]\d{9}|0[1-9]\d{8,10}")  # mobile, or fixed line with area code
ACTIONS = frozenset({"play", "break", "continue", "hangup", "transfer"})
CALLIN_ACTIONS = frozenset({"answer", "hangup"})  # 首次呼入回调's actions
MAX_CALLS = 64  # calls played at the same time (``pingan simulator serve --max-calls``)
MAX_CALLBACKS = 200  # a flow that never ends the call is a bug, not a long call
SMART_CALL_PRODUCT = "11030000180001"  # QueryCallDetailByCallId's ProdId for 智能外呼
RECEIPT_BY_OUTCOME = {"busy": "200002", "no-answer": "200003", "failed": "200005"}
DEFAULT = DEFAULT_BEHAVIOUR  # an unscripted resident checks in, as on the Twilio simulator
Callback = tuple[str, dict[str, Any]]  # a callback's content_type and content


@dataclass
class Exchange:
    """One callback the platform posted and the reply it got."""

    content_type: str
    content: dict[str, Any]
    reply: dict[str, Any] | None
    status: int

    def line(self) -> str:
        data = (self.reply or {}).get("data", {})
        heard = json.loads(data.get("action_code_param") or "{}").get("tts", "")
        sent = self.content.get("dtmf", "")
        return (
            f"→ {self.content_type}{' ' + sent if sent else ''}"
            f"  ← {data.get('action', self.status)}{' 「' + heard + '」' if heard else ''}"
        )


@dataclass
class AliyunCall:
    """One call: ``called`` is the callee and ``shown`` the number their phone shows (for an
    inbound call, the resident's own: they called Pingan's number)."""

    call_id: str
    called: str
    shown: str
    out_id: str
    behaviour: Behaviour
    direction: str = "outbound"
    exchanges: list[Exchange] = field(default_factory=list)
    receipt: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    dials: list[Dialed] = field(default_factory=list)  # blind transfers, E.164
    created: float = field(default_factory=time.monotonic)  # when SmartCall accepted it

    @property
    def sid(self) -> str:
        """The CallId, by the name the Twilio simulator's records give a call's id."""
        return self.call_id

    def heard_text(self) -> str:
        return " ".join(
            json.loads(e.reply["data"].get("action_code_param") or "{}").get("tts", "")
            for e in self.exchanges
            if e.reply and isinstance(e.reply.get("data"), dict)
        )

    def transcript(self) -> str:
        """The call as the platform saw it: each callback (→) and its reply (←), then the
        receipt it pushed."""
        lines = [e.line() for e in self.exchanges]
        if self.receipt is not None:
            shown = {k: self.receipt[k] for k in ("status_code", "duration", "out_id")}
            lines.append(f"⇢ receipt {json.dumps(shown, ensure_ascii=False)}")
        return "\n".join(lines)


class AliyunSimulator:
    """The platform: an SDK endpoint, scripted residents, callbacks and receipts."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        caller_id: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default_behaviour: Behaviour = DEFAULT,
        max_calls: int = MAX_CALLS,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.shown_number = national(caller_id)
        self.callback_url = ""  # 通用设置 > 回调地址 in the console
        self.receipt_url = ""
        self.lose_receipts = False  # receipts that never arrive (the push failed 3 times)
        self._scripts: dict[str, list[Behaviour]] = {}
        self._calls: list[AliyunCall] = []
        self._lock = threading.Lock()
        self._running: set[threading.Thread] = set()
        # Calls played at once, as the Twilio simulator's pool: the rest wait for a line, so a
        # round's burst loads the app as a carrier's paced callbacks do.
        self._lines = threading.BoundedSemaphore(max_calls)
        self._http = requests.Session()
        # A connection per request: one kept alive may be closed by the app's server just as
        # the next callback is sent on it (reset by peer), a failure of the client, not the app.
        self._http.headers["Connection"] = "close"
        self.default_behaviour = default_behaviour
        self._server = WsgiServer(self._rest_app(), host, port)
        self.url = self._server.base_url

    def script(self, phone: str, *behaviours: Behaviour | str) -> None:
        """What the resident at ``phone`` (E.164) does on their next calls, one per call; the
        last one repeats (as in the Twilio simulator, so one story script serves both)."""
        if not behaviours:
            raise ValueError("script() needs at least one behaviour")
        parsed = [b if isinstance(b, Behaviour) else Behaviour.parse(b) for b in behaviours]
        with self._lock:
            self._scripts[national(phone)] = parsed

    def incoming_call(
        self, from_: str, to: str, behaviour: Behaviour | str = "answer"
    ) -> AliyunCall:
        """The resident at ``from_`` rings ``to`` (E.164); the whole call is played, receipt
        included, before this returns."""
        person = behaviour if isinstance(behaviour, Behaviour) else Behaviour.parse(behaviour)
        if person.outcome != "answer":
            raise ValueError("an incoming call is made by a person: use an 'answer …' behaviour")
        if national(to) != self.shown_number:
            raise ValueError(f"{to} is not a number this account bought: VMS does not route it")
        call = AliyunCall(
            call_id=_call_id(),
            called=national(to),
            shown=national(from_),
            out_id="",
            behaviour=person,
            direction="inbound",
        )
        with self._lock:
            self._calls.append(call)
        callee = {"caller": call.shown, "callee": call.called, "orgcallee": call.called}
        self._play(call, ("callin", callee))
        return call

    def calls_to(self, phone: str) -> list[AliyunCall]:
        with self._lock:
            return [c for c in self._calls if c.called == national(phone)]

    def wait_idle(self, timeout_s: float = 30) -> bool:
        return gateway.wait_for_threads(self._lock, self._running, timeout_s)

    def close(self) -> None:
        self.wait_idle(10)
        self._server.stop()
        self._http.close()

    # The SDK's side -------------------------------------------------------------------------

    def _rest_app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/", "api", self._api, methods=["GET", "POST"])
        app.add_url_rule("/simulator/calls.json", "calls", self._listing, methods=["GET"])
        return app

    def _listing(self) -> Response:
        """Every call, for tests in other processes (not an Alibaba Cloud API)."""
        refused = gateway.refuse_listing(self.access_key_id, self.access_key_secret)
        if refused is not None:
            return refused
        with self._lock:
            calls = [
                {
                    "sid": c.call_id,
                    "to": e164(c.called),
                    "from": e164(c.shown),
                    "direction": c.direction,
                    "out_id": c.out_id,
                    "created": c.created,
                    "status_code": (c.receipt or {}).get("status_code"),
                    "errors": c.errors,
                }
                for c in self._calls
            ]
            idle = not any(t.is_alive() for t in self._running)
        return jsonify(calls=calls, idle=idle)

    def _api(self) -> Response:
        refused = gateway.refuse_unsigned(self.access_key_id, self.access_key_secret)
        if refused is not None:
            return refused
        action = gateway.action()
        params = gateway.params()
        if action == "QueryCallDetailByCallId":
            return self._call_detail(params)
        if action != "SmartCall":
            return gateway.error(
                400, "InvalidAction.NotFound", f"Specified api {action} is not found."
            )
        shown, called = params.get("CalledShowNumber", ""), params.get("CalledNumber", "")
        if not (params.get("VoiceCode") and shown and called):
            return gateway.body("isv.INVALID_PARAMETERS", "参数异常")
        if shown != self.shown_number:
            return gateway.body("isv.BILLID_NOT_EXIST", "计费账号不存在")  # not a number you bought
        if not MAINLAND.fullmatch(called):
            return gateway.body("isv.MOBILE_NUMBER_ILLEGAL", "号码格式非法")  # 仅支持中国内地号码
        behaviour = self._next_behaviour(called)
        if behaviour.reject_code is not None:  # a story's "reject:<Twilio code>", in VMS words
            return _refusal(behaviour.reject_code)
        call = AliyunCall(
            call_id=_call_id(),
            called=called,
            shown=shown,
            out_id=params.get("OutId", ""),
            behaviour=behaviour,
        )
        self._start(call, ("mute", {"dynamic_id": params.get("DynamicId", "")}))
        return gateway.body("OK", "OK", CallId=call.call_id)

    def _call_detail(self, params: dict[str, str]) -> Response:
        """The call's detail record, as a JSON string in ``Data``; empty while the call is
        live, and for a call of another product (``ProdId``) or unknown."""
        if params.get("ProdId") != SMART_CALL_PRODUCT or not params.get("QueryDate"):
            return gateway.body("OK", "OK", Data="")
        with self._lock:
            found = [c for c in self._calls if c.call_id == params.get("CallId")]
        receipt = found[0].receipt if found else None
        if receipt is None:
            return gateway.body("OK", "OK", Data="")
        detail = {
            "callId": receipt["call_id"],
            "callee": found[0].called,
            "calleeShowNumber": found[0].shown,
            "state": receipt["status_code"],
            "duration": int(receipt["duration"]),
            "startDate": receipt["start_time"],
            "endDate": receipt["end_time"],
        }
        return gateway.body("OK", "OK", Data=json.dumps(detail, ensure_ascii=False))

    def _next_behaviour(self, called: str) -> Behaviour:
        with self._lock:
            queue = self._scripts.get(called, [])
            if len(queue) > 1:
                return queue.pop(0)
            return queue[0] if queue else self.default_behaviour

    def _start(self, call: AliyunCall, first: Callback) -> None:
        thread = threading.Thread(target=self._play, args=(call, first), daemon=True)
        with self._lock:
            self._calls.append(call)
            self._running.add(thread)
        thread.start()

    # The resident's side --------------------------------------------------------------------

    def _play(self, call: AliyunCall, first: Callback) -> None:
        with self._lines:
            try:
                receipt = self._converse(call, first)
            except (requests.RequestException, ValueError) as exc:
                call.errors.append(f"callback failed: {exc}")
                receipt = "200005"
            self._push_receipt(call, receipt)

    def _converse(self, call: AliyunCall, first: Callback) -> str:
        """Play the call from its ``first`` callback (the opening played, or a ``callin``);
        returns the receipt's 呼叫状态码."""
        behaviour = call.behaviour
        if not behaviour.answers:
            return RECEIPT_BY_OUTCOME.get(behaviour.outcome, "200005")
        entries = list(behaviour.keys) if behaviour.outcome == "answer" else []
        voicemail = behaviour.outcome == "machine"  # VMS has no answering-machine detection
        keys: list[str] = []
        kind, content = first
        dynamic_id = str(content.get("dynamic_id") or "")
        data = self._post(call, kind, content, CALLIN_ACTIONS if kind == "callin" else ACTIONS)
        for _ in range(MAX_CALLBACKS):
            action = data.get("action")
            if action == "transfer":
                number = str(data.get("number") or "")
                call.dials.append(Dialed(e164(number), behaviour.dial, behaviour.dial_duration_s))
                return "200000"
            if action == "hangup":
                return "200000"
            dynamic_id = str(data.get("dynamic_id") or dynamic_id)
            if action in ("play", "answer") and not keys:  # a question: the resident answers it
                entry = SILENCE if voicemail else (entries.pop(0) if entries else HANG_UP)
                if entry == HANG_UP:
                    return "200001"
                keys = [] if entry == SILENCE else list(entry)
            if keys:
                data = self._post(call, "dtmf", {"dtmf": keys.pop(0), "dynamic_id": dynamic_id})
            else:
                data = self._post(call, "mute", {"dynamic_id": dynamic_id})
        call.errors.append(f"the call did not end after {MAX_CALLBACKS} callbacks")
        return "200000"

    def _post(
        self,
        call: AliyunCall,
        content_type: str,
        content: dict[str, Any],
        actions: frozenset[str] = ACTIONS,
    ) -> dict[str, Any]:
        params = {
            "call_id": call.call_id,
            "timestamp": str(int(time.time() * 1000)),
            "content_type": content_type,
            "content": json.dumps(content, ensure_ascii=False),
        }
        response = self._http.post(self.callback_url, data=params, timeout=15)
        reply = response.json() if response.status_code == 200 else None
        call.exchanges.append(Exchange(content_type, content, reply, response.status_code))
        return _checked(reply, call.errors, actions)

    def _push_receipt(self, call: AliyunCall, status_code: str) -> None:
        answered = status_code in ("200000", "200001")
        call.receipt = {
            "call_id": call.call_id,
            "out_id": call.out_id,
            "caller": call.shown,
            "callee": call.called,
            "status_code": status_code,
            "duration": str(10 * len(call.exchanges)) if answered else "0",
            "start_time": time.strftime("%Y-%m-%d %H:%M:%S") if answered else "",
            "end_time": time.strftime("%Y-%m-%d %H:%M:%S") if answered else "",
        }
        if self.lose_receipts or "drop_status" in call.behaviour.faults:
            return
        try:
            response = self._http.post(self.receipt_url, json=[call.receipt], timeout=15)
            answered_ok = response.status_code == 200 and isinstance(response.json()["code"], int)
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            call.errors.append(f"receipt push failed: {exc}")
            return
        if not answered_ok:  # VMS pushes again after 1, 5 and 10 minutes; the tests do not wait
            call.errors.append(f"receipt answered {response.status_code}")


def _checked(
    reply: dict[str, Any] | None, errors: list[str], actions: frozenset[str]
) -> dict[str, Any]:
    """The reply's action, checked as the platform reads it; a bad reply ends the call."""
    data = reply.get("data") if isinstance(reply, dict) else None
    if not isinstance(data, dict) or reply is None or reply.get("result") != "success":
        errors.append(f"unusable reply {reply!r}")
        return {"action": "hangup"}
    if data.get("action") not in actions:
        errors.append(f"unknown action {data.get('action')!r}")
        return {"action": "hangup"}
    text = json.loads(data.get("action_code_param") or "{}").get("tts", "")
    bad = sorted({c for c in text if c in FORBIDDEN or c in '=:"'})
    if bad:
        errors.append(f"forbidden characters {''.join(bad)!r} in {text!r}")
        return {"action": "hangup"}
    if Cursor.parse(str(data.get("dynamic_id") or "x")) is None and data.get("dynamic_id"):
        errors.append(f"dynamic_id {data['dynamic_id']!r} is not one Pingan wrote")
    return data


def _call_id() -> str:
    return f"{uuid.uuid4().int % 10**12}^{uuid.uuid4().int % 10**12}"


def _refusal(twilio_code: int) -> Response:
    """What VMS answers where Twilio would refuse with ``twilio_code`` (or an HTTP status)."""
    if twilio_code in (401, 20003):
        return gateway.error(
            404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        )
    if twilio_code in (429, 20429):
        return gateway.error(400, "Throttling.User", "Request was denied due to user flow control.")
    if (twilio_code >= 500 and twilio_code < 600) or twilio_code in (20500, 20503):
        return gateway.error(500, "InternalError", "The request processing has failed.")
    if twilio_code in BAD_NUMBER_CODES:
        return gateway.body("isv.MOBILE_NUMBER_ILLEGAL", "号码格式非法")
    return gateway.body("isv.OUT_OF_SERVICE", "业务停机")
