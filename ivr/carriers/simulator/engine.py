"""One simulated call, from dialing to hang-up, run synchronously the way Twilio runs it.

``CallRunner`` plays both sides that Pingan cannot see: Twilio (status callbacks, fetching and
interpreting TwiML, fallbacks) and the resident (picking up, listening, pressing keys). Nothing
sleeps: time is simulated, so a five-minute check-in takes milliseconds, yet ``CallDuration`` and
``Timestamp`` still advance as they would on a real line.

App mistakes never raise out of the runner; they are recorded on the ``CallRecord`` with the
error code Twilio would log, and the call ends the way Twilio would end it.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.utils import format_datetime
from types import MappingProxyType
from typing import NoReturn

import requests

from ivr.carriers.simulator.behaviour import HANG_UP, SILENCE, Behaviour
from ivr.carriers.simulator.callbacks import StatusReporter
from ivr.carriers.simulator.records import (
    CallError,
    CallRecord,
    CallRequest,
    Dialed,
    Exchange,
    Gathered,
    Heard,
    Moment,
)
from ivr.carriers.simulator.twiml import (
    BAD_CONTENT_TYPE,
    Dial,
    Document,
    Gather,
    Hangup,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    TwimlError,
    Verb,
    read_reply,
)
from ivr.carriers.simulator.webhook import (
    HTTP_RETRIEVAL_FAILURE,
    WebhookClient,
    WebhookError,
    WebhookReply,
)
from ivr.carriers.telephony import FINAL_STATUSES
from ivr.clock import Clock, FixedClock, SystemClock

API_VERSION = "2010-04-01"
MAX_REQUESTS = 200  # per call: a looping app must not hang the simulator
REQUEST_LIMIT_ERROR = 0  # Twilio has no code for this; a real call would loop until TimeLimit
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."

# Simulated timing (seconds). Rough, but of the right order for an elderly resident's call.
ANSWER_AFTER_S = 6.0
AMD_S = 3.0
KEY_INTERVAL_S = 0.7
PLAY_CLIP_S = 4.0
DTMF_TONE_S = 0.5
RING_BUFFER_S = 5  # Twilio adds about five seconds to every ring timeout
VOICEMAIL_MAX_S = 120  # a voicemail box stops recording and hangs up after this
LOOP_FOREVER = 1000  # loop="0" means "until hang-up", which Twilio caps at 1000 plays
CJK_CHARS_PER_S = 4.0
OTHER_CHARS_PER_S = 14.0

# An unscripted number dialed with ``dial=completed``: a person who takes the call, pressing 1
# if a screen asks them to (as Pingan's transfer does).
WILLING_CALLEE = Behaviour.parse("answer 1")

SIP_RESPONSE_CODES = MappingProxyType(
    {"completed": 200, "busy": 486, "no-answer": 487, "canceled": 487, "failed": 404}
)


class _CallEnded(Exception):
    """Control leaves the conversation: someone hung up, or Twilio gave up."""

    def __init__(self, reason: str, status: str = "completed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class _Step:
    """The next TwiML request: where, how, and the verb-specific parameters."""

    url: str
    method: str
    params: Mapping[str, str]
    fallback: bool = False


@dataclass(frozen=True)
class DtmfResult:
    digits: str
    finished_on_key: str
    ended: str  # finish_key, num_digits or timeout
    seconds: float
    used: int = 0  # keys the gather took; the caller goes on pressing the others


def collect_dtmf(
    keys: str, *, finish_on_key: str = "#", num_digits: int | None = None, timeout_s: int = 5
) -> DtmfResult:
    """Apply Twilio's <Gather> rules to keys pressed one after another once the prompt ends.

    The finish key ends input and is not part of the digits; ``numDigits`` ends input as soon as
    it is reached (``used`` says how many keys were taken: the caller's later keys reach the next
    gather); otherwise input ends ``timeout_s`` after the last key, submitting whatever was
    keyed so far.
    """
    digits = ""
    seconds = 0.0
    for used, key in enumerate(keys, 1):
        seconds += KEY_INTERVAL_S
        if finish_on_key and key == finish_on_key:
            return DtmfResult(digits, key, "finish_key", seconds, used)
        digits += key
        if num_digits is not None and len(digits) >= num_digits:
            return DtmfResult(digits, "", "num_digits", seconds, used)
    return DtmfResult(digits, "", "timeout", seconds + timeout_s, len(keys))


def speech_seconds(text: str) -> float:
    """How long text-to-speech takes to say ``text`` (Chinese characters are slower)."""
    wide = sum(1 for char in text if unicodedata.east_asian_width(char) in ("W", "F"))
    return wide / CJK_CHARS_PER_S + (len(text) - wide) / OTHER_CHARS_PER_S


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


@dataclass(frozen=True)
class Phones:
    """The people a call's ``<Dial>`` reaches: ``behaviour_for`` the scripted phone at a number
    (None: nobody scripted, the dialing call's own ``dial=`` option decides), and ``register``
    to keep each leg's record with the carrier's calls."""

    behaviour_for: Callable[[str], Behaviour | None]
    register: Callable[[CallRunner], None]


class CallRunner:
    """Runs one call; create it, then call ``run()`` (once) in any thread."""

    def __init__(
        self,
        request: CallRequest,
        behaviour: Behaviour,
        *,
        sid: str,
        account_sid: str,
        auth_token: str,
        session: requests.Session,
        clock: Clock | None = None,
        max_requests: int = MAX_REQUESTS,
        phones: Phones | None = None,
    ) -> None:
        self.request = request
        self.behaviour = behaviour
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._session = session
        self._phones = phones
        self._clock = clock or SystemClock()
        self._max_requests = max_requests
        self.record = CallRecord(
            sid=sid,
            to=request.to,
            from_=request.from_,
            direction=request.direction,
            behaviour=str(behaviour),
            created_at=self._clock.now(),
        )
        self._webhooks = WebhookClient(session, auth_token)
        self._reporter = StatusReporter(request, self._webhooks, self.record, behaviour.faults)
        self._lock = threading.Lock()  # guards status changes against request_stop()
        self._stop_requested = False
        self._began = self.record.created_at
        self._elapsed = 0.0
        self._answered_at: float | None = None
        self._request_count = 0
        self._entries = iter(behaviour.keys)
        self._typing = ""  # keys of an entry the caller is still pressing after a gather ended

    @property
    def outbound(self) -> bool:
        return self.request.direction != "inbound"

    def run(self) -> CallRecord:
        with self._lock:
            if self.record.final:  # canceled while queued: Twilio reports nothing at all
                return self.record
            self.record.status = "initiated" if self.outbound else "ringing"
        self._began = self._clock.now()
        try:
            self._call()
        finally:
            self._reporter.flush()
        return self.record

    def request_stop(self, status: str) -> str:
        """A REST update: ``canceled`` ends a queued or ringing call, ``completed`` any call.

        Returns the call's status afterwards; raises ValueError if the call is already over.
        """
        with self._lock:
            current = self.record.status
            if current in FINAL_STATUSES:
                raise ValueError(f"call {self.record.sid} is already {current}")
            if current == "queued":
                self.record.status = "canceled"
                self.record.ended_by = "canceled while queued"
                self.record.end_time = self._clock.now()
            elif status == "completed" or current != "in-progress":
                self._stop_requested = True
            return self.record.status

    # --- the phases of a call -----------------------------------------------------------------

    def _call(self) -> None:
        if self.request.direction == "outbound-dial" and not self.request.url:
            self._call_unscreened()
            return
        outcome = self.behaviour.outcome
        if self.outbound:
            self._progress("initiated", "initiated")
        if outcome != "failed":
            self._progress("ringing", "ringing")
            self._elapsed += _ring_seconds(outcome, self.request.timeout_s)
        if self._stop_requested:
            self._finish("canceled")
        elif not self.behaviour.answers:
            self._finish(outcome)
        else:
            if self.outbound:
                self._answer()
            self._finish(self._converse())

    def _call_unscreened(self) -> None:
        """A ``<Dial>`` leg without a ``url``: rings, and is connected as soon as it answers."""
        self._progress("initiated", "initiated")
        self._progress("ringing", "ringing")
        self._elapsed += _ring_seconds(self.behaviour.outcome, self.request.timeout_s)
        if self.behaviour.answers:
            self._answer()
            self.record.ended_by = "end of document"
            self._finish("completed")
        else:
            self._finish(self.behaviour.outcome)

    def _answer(self) -> None:
        self._answered_at = self._elapsed
        self.record.start_time = self._now()
        if self.request.machine_detection:
            self.record.answered_by = self.behaviour.amd_result(self.request.machine_detection)
        self._progress("answered", "in-progress")
        if self.request.machine_detection:
            self._elapsed += AMD_S  # synchronous AMD: the callee hears silence meanwhile

    def _converse(self) -> str:
        """Fetch and run TwiML until the call ends; returns the final status."""
        step = _Step(self.request.url, self.request.method, self._first_request_params())
        try:
            while True:
                step = self._take(step)
        except _CallEnded as end:
            self.record.ended_by = end.reason
            return end.status

    def _finish(self, status: str) -> None:
        talked = 0
        if status == "completed" and self._answered_at is not None:
            talked = max(1, math.ceil(self._elapsed - self._answered_at))
            talked = min(talked, self.request.time_limit_s)
        self.record.duration_s = talked
        self.record.end_time = self._now()
        extra = {
            "CallDuration": str(talked),
            "Duration": str(math.ceil(talked / 60)),
            "SipResponseCode": str(SIP_RESPONSE_CODES[status]),
        }
        if self.record.answered_by:
            extra["AnsweredBy"] = self.record.answered_by
        if not self.record.ended_by:
            self.record.ended_by = status
        self._set_status(status)
        self._reporter.event("completed", {**self._callback_params(status), **extra})

    # --- fetching and running TwiML -----------------------------------------------------------

    def _take(self, step: _Step) -> _Step:
        """Run the document ``step`` leads to; on failure go where Twilio goes next."""
        try:
            return self._run(self._fetch(step))
        except (TwimlError, WebhookError) as exc:
            failed_url = exc.url or step.url
            self.record.errors.append(CallError(exc.code, f"{exc.message} ({failed_url})"))
            if self.request.fallback_url and not step.fallback:
                return _Step(
                    self.request.fallback_url,
                    self.request.fallback_method,
                    {"ErrorCode": str(exc.code), "ErrorUrl": failed_url},
                    fallback=True,
                )
            self._application_error()

    def _fetch(self, step: _Step) -> Document:
        params = {**self._params("in-progress"), **step.params}
        reply = self._send(step.method, step.url, params)
        if not reply.ok:
            raise WebhookError(
                HTTP_RETRIEVAL_FAILURE, f"the app answered HTTP {reply.status}", step.url
            )
        document = read_reply(reply.content_type, reply.body, reply.url)
        self.record.warnings.extend(document.warnings)
        return document

    def _run(self, document: Document) -> _Step:
        for verb in document.verbs:
            self._check_live()
            if isinstance(verb, Hangup | Reject):
                self._hang_up(verb)
            if self._answered_at is None:  # an inbound call is answered by its first verb
                self._answer()
            step = self._perform(verb)
            if step is not None:
                return step
        raise _CallEnded("end of document")

    def _perform(self, verb: Verb) -> _Step | None:
        """Carry out one verb; returns the next request if the verb leaves the document."""
        match verb:
            case Say():
                self.record.heard.append(Heard(verb.text, verb.language))
                self._moment("say", verb.text)
                self._elapsed += speech_seconds(verb.text) * (verb.loop or LOOP_FOREVER)
            case Play():
                self._play(verb)
            case Pause():
                self._elapsed += verb.length_s
            case Gather():
                return self._gather(verb)
            case Dial():
                return self._dial(verb)
            case Redirect():
                return _Step(verb.url, verb.method, {})
        return None

    def _play(self, verb: Play) -> None:
        if verb.url and not verb.fetched:
            reply = self._send("GET", verb.url, {})
            if reply.status != 200:
                raise WebhookError(
                    HTTP_RETRIEVAL_FAILURE, f"<Play> media answered HTTP {reply.status}", verb.url
                )
            if not reply.content_type.startswith("audio/"):
                raise TwimlError(
                    BAD_CONTENT_TYPE,
                    f"<Play> media has Content-Type {reply.content_type or '(none)'!r}, not audio",
                    verb.url,
                )
        if verb.url:
            self.record.played.append(verb.url)
        clip = PLAY_CLIP_S if verb.url else DTMF_TONE_S * len(verb.digits or "")
        self._elapsed += clip * (verb.loop or LOOP_FOREVER)

    def _gather(self, verb: Gather) -> _Step | None:
        """Speak the prompts, then take the caller's keys by Twilio's rules.

        A caller still pressing the keys of one entry when the previous gather ended (it took
        ``numDigits``) goes on at the same pace: those keys reach this gather, interrupting its
        prompts. (This assumes the app answers within a key interval, as it does locally; Twilio
        documents no buffering of keys pressed while it fetches the next document.)
        """
        typing, self._typing = self._typing, ""
        for prompt in () if typing else verb.prompts:  # a key interrupts them at once
            self._perform(prompt)
        if self.behaviour.think_s and not typing:
            time.sleep(self.behaviour.think_s)
        entry = typing or self._next_entry()
        if entry == HANG_UP:
            raise _CallEnded("hung up during a gather")
        keys = entry if entry != SILENCE and "dtmf" in verb.input else ""
        result = collect_dtmf(
            keys,
            finish_on_key=verb.finish_on_key,
            num_digits=verb.num_digits,
            timeout_s=verb.timeout_s,
        )
        for key in keys[: result.used]:
            self._elapsed += KEY_INTERVAL_S
            self._moment("key", key)
        self._typing = keys[result.used :] if result.ended == "num_digits" else ""
        self._elapsed += result.seconds - KEY_INTERVAL_S * result.used
        self.record.gathers.append(Gathered(result.digits, result.finished_on_key))
        if not result.digits and not verb.action_on_empty_result:
            return None  # no input: control falls to the next verb, as on Twilio
        return _Step(
            verb.action,
            verb.method,
            {"Digits": result.digits, "FinishedOnKey": result.finished_on_key, "msg": "Gather End"},
        )

    def _moment(self, kind: str, what: str) -> None:
        self.record.moments.append(Moment(round(self._elapsed, 3), kind, what))

    def _next_entry(self) -> str:
        """What the person does at this gather: keys, silence, or hang up."""
        if self.behaviour.outcome == "machine":  # voicemail only listens, then stops recording
            listened = self._elapsed - (self._answered_at or 0.0)
            return HANG_UP if listened >= VOICEMAIL_MAX_S else SILENCE
        return next(self._entries, HANG_UP)

    def _dial(self, verb: Dial) -> _Step | None:
        person = self._phones.behaviour_for(verb.number) if self._phones else None
        if (
            person is None
            and self._phones
            and verb.number_url
            and self.behaviour.dial == "completed"
        ):
            person = replace(WILLING_CALLEE, dial_duration_s=self.behaviour.dial_duration_s)
        if person is None:
            status, bridged, leg_sid = self.behaviour.dial, self.behaviour.dial == "completed", ""
            talked = min(self.behaviour.dial_duration_s, verb.time_limit_s) if bridged else 0
            self._elapsed += _dial_ring_seconds(status, verb.timeout_s)
        else:
            status, bridged, leg_sid = self._ring_leg(verb, person)
            talked = min(person.dial_duration_s, verb.time_limit_s) if bridged else 0
        self._elapsed += talked
        self.record.dials.append(Dialed(verb.number, status, talked))
        if verb.action is None:
            return None  # without an action Twilio carries on with the next verb
        return _Step(
            verb.action,
            verb.method,
            {
                "DialCallStatus": status,
                "DialCallSid": leg_sid or new_sid("CA"),
                "DialCallDuration": str(talked),
                "DialBridged": "true" if bridged else "false",
            },
        )

    def _ring_leg(self, verb: Dial, person: Behaviour) -> tuple[str, bool, str]:
        """Ring a scripted phone as a child leg; with ``<Number url>`` the person who picks up
        (or their voicemail) first hears that TwiML, and is connected only if it runs to its
        end: a ``<Hangup>`` there ends the leg unbridged. Returns (DialCallStatus, bridged,
        the leg's CallSid)."""
        assert self._phones is not None
        request = CallRequest(
            to=verb.number,
            from_=verb.caller_id or self.request.from_,
            url=verb.number_url or "",
            method=verb.number_method,
            timeout_s=verb.timeout_s,
            direction="outbound-dial",
            parent_call_sid=self.record.sid,
        )
        leg = CallRunner(
            request,
            person,
            sid=new_sid("CA"),
            account_sid=self._account_sid,
            auth_token=self._auth_token,
            session=self._session,
            clock=FixedClock(self._now()),  # the leg starts when this call reaches its <Dial>
            max_requests=self._max_requests,
        )
        self._phones.register(leg)
        leg.run()
        self._elapsed += leg._elapsed
        if not person.answers:
            return leg.record.status, False, leg.record.sid
        bridged = verb.number_url is None or leg.record.ended_by == "end of document"
        return "completed", bridged, leg.record.sid

    def _hang_up(self, verb: Hangup | Reject) -> NoReturn:
        if isinstance(verb, Reject):
            if self._answered_at is None:  # an inbound call refused before it was answered
                raise _CallEnded("rejected", "busy" if verb.reason == "busy" else "no-answer")
            self.record.warnings.append("<Reject> in an answered call is treated as <Hangup>")
        raise _CallEnded("hangup")

    def _application_error(self) -> NoReturn:
        if self._answered_at is None:
            self._answer()
        self.record.heard.append(Heard(APPLICATION_ERROR, "en-US"))
        self._elapsed += speech_seconds(APPLICATION_ERROR)
        raise _CallEnded("application error")

    def _check_live(self) -> None:
        if self._stop_requested:
            raise _CallEnded("hung up by a REST update")
        if (
            self._answered_at is not None
            and self._elapsed - self._answered_at >= self.request.time_limit_s
        ):
            raise _CallEnded("time limit reached")

    # --- requests and parameters --------------------------------------------------------------

    def _send(self, method: str, url: str, params: Mapping[str, str]) -> WebhookReply:
        """One request to the app, counted against the per-call bound and recorded."""
        if self._request_count >= self._max_requests:
            self.record.errors.append(
                CallError(
                    REQUEST_LIMIT_ERROR,
                    f"more than {self._max_requests} requests on one call; "
                    f"the app seems to loop ({url})",
                )
            )
            raise _CallEnded("request limit")
        self._request_count += 1
        try:
            reply = self._webhooks.send(method, url, params)
        except WebhookError:
            self.record.requests.append(Exchange(method, url, dict(params), None))
            self.record.timings.append(("twiml", None, 0.0))
            raise
        self.record.requests.append(Exchange(method, url, dict(params), reply.status))
        self.record.timings.append(("twiml", reply.status, reply.elapsed_s))
        return reply

    def _params(self, status: str) -> dict[str, str]:
        """The parameters of every voice request (contract §4.2)."""
        request = self.request
        params = {
            "CallSid": self.record.sid,
            "AccountSid": self._account_sid,
            "From": request.from_,
            "To": request.to,
            "Caller": request.from_,
            "Called": request.to,
            "CallStatus": status,
            "ApiVersion": API_VERSION,
            "Direction": request.direction,
        }
        if request.parent_call_sid:
            params["ParentCallSid"] = request.parent_call_sid
        return params

    def _callback_params(self, status: str) -> dict[str, str]:
        return {**self._params(status), "Timestamp": format_datetime(self._now())}

    def _first_request_params(self) -> dict[str, str]:
        if not self.outbound:
            return {"CallStatus": "ringing"}  # Twilio asks an inbound call's Url while ringing
        if self.record.answered_by:
            return {
                "AnsweredBy": self.record.answered_by,
                "MachineDetectionDuration": str(int(AMD_S * 1000)),
            }
        return {}

    def _progress(self, event: str, status: str) -> None:
        self._set_status(status)
        self._reporter.event(event, self._callback_params(status))

    def _set_status(self, status: str) -> None:
        with self._lock:
            self.record.status = status

    def _now(self) -> dt.datetime:
        return self._began + dt.timedelta(seconds=self._elapsed)


def _ring_seconds(outcome: str, timeout_s: int) -> float:
    match outcome:
        case "no-answer":
            return timeout_s + RING_BUFFER_S
        case "busy":
            return 2.0
        case "canceled":
            return 3.0
        case _:
            return ANSWER_AFTER_S


def _dial_ring_seconds(status: str, timeout_s: int) -> float:
    match status:
        case "no-answer":
            return timeout_s + RING_BUFFER_S
        case "completed":
            return ANSWER_AFTER_S
        case _:
            return 2.0
