"""``SimulatedCarrier``: the ``Carrier`` protocol played locally, one thread per live call.

Like Twilio, creating a call only queues it: ``place_call`` validates the request, answers with
a CallSid at once and the call proceeds in a worker thread, calling the app's webhooks over real
HTTP. What each number does is scripted with ``script()``; REST refusals are raised as the same
``CarrierError`` the real ``TwilioCarrier`` would raise for them.

Like Twilio since 30 November 2023 it calls no mainland China (``+86``) number: the request is
refused with 21215, the code Twilio's geo permissions give a country that is not open to the
account (China was taken off the Geo Permissions page). A ``From`` number that is not one of
``owned_numbers`` is refused with 21210, as Twilio refuses a caller ID that is neither bought
nor verified. See docs/carriers.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType, TracebackType
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioRestException

from ivr.carriers.simulator.behaviour import Behaviour
from ivr.carriers.simulator.engine import API_VERSION, MAX_REQUESTS, CallRunner, Phones, new_sid
from ivr.carriers.simulator.records import CallError, CallRecord, CallRequest
from ivr.carriers.simulator.webhook import WebhookClient
from ivr.carriers.telephony import (
    CallInfo,
    CarrierError,
    ErrorKind,
    OutboundCall,
    SentMessage,
    TextMessage,
)
from ivr.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_BEHAVIOUR = Behaviour.parse("answer 1 365# 1 2 9")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MAINLAND_CHINA = "+86"  # Hong Kong (+852), Macao (+853) and Taiwan (+886) have their own codes
SIMULATOR_FAILURE = 0  # not a Twilio code: the simulator itself broke (a bug to report)

# Twilio REST refusals: error code -> (HTTP status, message). Messages follow Twilio's wording.
_REFUSALS = MappingProxyType(
    {
        20001: (400, "Invalid parameter"),
        20003: (401, "Authenticate"),
        20404: (404, "The requested resource was not found"),
        20429: (429, "Too Many Requests"),
        20500: (500, "Internal Server Error"),
        20503: (503, "Service Unavailable"),
        21201: (400, "No 'To' number is specified"),
        21205: (400, "Url parameter is required."),
        21210: (400, "The source phone number provided is not yet verified for your account."),
        21211: (400, "The 'To' number {to} is not a valid phone number."),
        21212: (400, "Invalid 'From' phone number (caller ID)"),
        21213: (400, "No 'From' number is specified"),
        21214: (400, "'To' phone number cannot be reached"),
        21215: (
            400,
            "Account not authorized to call {to}. Perhaps you need to enable some "
            "international permissions: "
            "https://www.twilio.com/console/voice/calls/geo-permissions/low-risk",
        ),
        21216: (400, "Account not allowed to call {to}"),
        21217: (400, "Phone number does not appear to be valid"),
        21219: (
            400,
            "The number {to} is unverified. Trial accounts cannot send messages or make "
            "calls to unverified numbers.",
        ),
        21220: (400, "Invalid call state"),
        21602: (400, "Message body is required."),
        21603: (400, "A 'From' phone number is required."),
        21604: (400, "A 'To' phone number is required."),
    }
)
# ``reject:<HTTP status>`` is shorthand for the Twilio code that status usually carries.
_STATUS_CODES = MappingProxyType({401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503})


def refusal(code: int, to: str = "") -> CarrierError:
    """The ``CarrierError`` for a REST refusal with Twilio error ``code`` (or HTTP status)."""
    code = _STATUS_CODES.get(code, code)
    if code in _REFUSALS:
        status, template = _REFUSALS[code]
    elif 100 <= code < 600:
        status, template = code, f"HTTP {code}"
    else:
        status, template = 400, f"Twilio error {code}"
    message = template.format(to=to)
    # Classify through the real carrier's own mapping so the two can never disagree.
    return CarrierError.from_twilio(TwilioRestException(status, "", msg=message, code=code))


def as_behaviour(value: Behaviour | str) -> Behaviour:
    return value if isinstance(value, Behaviour) else Behaviour.parse(value)


class SimulatedCarrier:
    """A local Twilio: calls the app's webhooks as scripted residents would answer them."""

    name = "simulator"

    def __init__(
        self,
        auth_token: str,
        account_sid: str | None = None,
        *,
        max_workers: int = 32,
        default_behaviour: Behaviour | str = DEFAULT_BEHAVIOUR,
        clock: Clock | None = None,
        max_requests: int = MAX_REQUESTS,
        owned_numbers: Iterable[str] | None = None,
        china_vetted: bool = False,
    ) -> None:
        self.auth_token = auth_token
        # None: any well-formed From (a double that does not know the deployment's number)
        self.owned_numbers = frozenset(owned_numbers) if owned_numbers is not None else None
        # An account Twilio had vetted for calls to China, as it did until 30 November 2023:
        # the story suite and the Twilio demo keep their +86 residents with it.
        self.china_vetted = china_vetted
        self.account_sid = account_sid or new_sid("AC")
        self.default_behaviour = as_behaviour(default_behaviour)
        self._clock = clock
        self._max_requests = max_requests
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="simulated-call")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._closed = False
        self._runners: dict[str, CallRunner] = {}
        self._scripts: dict[str, list[Behaviour]] = {}
        self._sms_failures: dict[str, int] = {}
        # While set, every text is refused with this Twilio error code: an SMS outage.
        self.sms_outage: int | None = None
        self._messages: list[SentMessage] = []
        self._create_times: list[float] = []

    # --- scripting ------------------------------------------------------------------------

    def script(self, phone: str, *behaviours: Behaviour | str) -> None:
        """What ``phone`` does on its next calls, one behaviour per call; the last repeats."""
        if not behaviours:
            raise ValueError("script() needs at least one behaviour")
        parsed = [as_behaviour(b) for b in behaviours]
        with self._lock:
            self._scripts[phone] = parsed

    def script_sms_failure(self, to: str, code: int) -> None:
        """Refuse the next text message to ``to`` with Twilio error ``code``."""
        with self._lock:
            self._sms_failures[to] = code

    # --- the Carrier protocol -------------------------------------------------------------

    def place_call(self, call: OutboundCall) -> str:
        return self.create_call(CallRequest.from_outbound(call))

    def create_call(self, request: CallRequest) -> str:
        """Accept a call like Twilio's create-call request: validate, queue, return its sid."""
        _validate(request)
        if self.owned_numbers is not None and request.from_ not in self.owned_numbers:
            raise refusal(21210)
        if request.to.startswith(MAINLAND_CHINA) and not self.china_vetted:
            raise refusal(21215, request.to)
        behaviour = self._next_behaviour(request.to)
        if behaviour.reject_code is not None:
            raise refusal(behaviour.reject_code, request.to)
        sid = new_sid("CA")
        session = requests.Session()  # one cookie jar per call, as on Twilio
        runner = CallRunner(
            request,
            behaviour,
            sid=sid,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            session=session,
            clock=self._clock,
            max_requests=self._max_requests,
            phones=self._phones(),
        )
        with self._lock:
            if self._closed:
                session.close()
                raise CarrierError("the simulated carrier is closed", ErrorKind.TRANSIENT)
            self._runners[sid] = runner
            self._active += 1
            self._create_times.append(time.monotonic())
            self._pool.submit(self._run, runner, session)
        return sid

    def fetch_call(self, sid: str) -> CallInfo:
        record = self._runner(sid).record
        status = record.resource_status
        duration = record.duration_s if status == "completed" else None
        return CallInfo(sid, status, duration, record.answered_by)

    def update_call(self, sid: str, status: str) -> CallInfo:
        """Twilio's call update with ``Status``: cancel a waiting call or hang up a live one."""
        if status not in ("canceled", "completed"):
            raise CarrierError(
                f"Status must be canceled or completed, not {status!r}",
                ErrorKind.REJECTED,
                20001,
                400,
            )
        try:
            self._runner(sid).request_stop(status)
        except ValueError:
            raise refusal(21220) from None
        return self.fetch_call(sid)

    def send_sms(self, to: str, from_: str, text: TextMessage) -> str:
        body = text.body
        for code, value in ((21604, to), (21603, from_), (21602, body)):
            if not value:
                raise refusal(code)
        if not E164.fullmatch(to):
            raise refusal(21211, to)
        with self._lock:
            failure = self._sms_failures.pop(to, None) or self.sms_outage
        if failure is not None:
            raise refusal(failure, to)
        sid = new_sid("SM")
        with self._lock:
            self._messages.append(SentMessage(sid, to, body, {"from": from_}))
        return sid

    def find_sms(self, to: str, from_: str, text: TextMessage, since: dt.datetime) -> str | None:
        wanted = (to, text.body, from_)
        with self._lock:
            sent = [m for m in self._messages if (m.to, m.body, m.extra.get("from")) == wanted]
        return sent[0].sid if sent else None

    def check(self) -> list[str]:
        return []  # the simulated account is always in order

    # --- people calling and texting the app -----------------------------------------------

    def incoming_call(
        self,
        from_: str,
        to: str,
        url: str,
        behaviour: Behaviour | str = "answer",
        status_callback: str | None = None,
        *,
        method: str = "POST",
        fallback_url: str | None = None,
    ) -> CallRecord:
        """A resident calls the app's number; runs the whole call before returning."""
        person = as_behaviour(behaviour)
        if person.outcome != "answer":
            raise ValueError("an incoming call is made by a person: use an 'answer …' behaviour")
        request = CallRequest(
            to=to,
            from_=from_,
            url=url,
            method=method,
            status_callback=status_callback,
            fallback_url=fallback_url,
            direction="inbound",
        )
        sid = new_sid("CA")
        with requests.Session() as session:
            runner = CallRunner(
                request,
                person,
                sid=sid,
                account_sid=self.account_sid,
                auth_token=self.auth_token,
                session=session,
                clock=self._clock,
                max_requests=self._max_requests,
                phones=self._phones(),
            )
            with self._lock:
                self._runners[sid] = runner
            return runner.run()

    def incoming_sms(self, from_: str, to: str, body: str, url: str) -> tuple[int, str]:
        """A resident texts the app's number; returns the app's HTTP status and answer.

        Raises ``WebhookError`` if the app cannot be reached at all.
        """
        sid = new_sid("SM")
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        with requests.Session() as session:
            reply = WebhookClient(session, self.auth_token).send("POST", url, params)
        return reply.status, reply.text

    # --- observing ------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 30) -> bool:
        """Wait until no call is running (including calls placed meanwhile); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    @property
    def records(self) -> dict[str, CallRecord]:
        with self._lock:
            return {sid: runner.record for sid, runner in self._runners.items()}

    def record(self, sid: str) -> CallRecord:
        return self._runner(sid).record

    def calls_to(self, phone: str) -> list[CallRecord]:
        """Every call placed to ``phone``, oldest first."""
        with self._lock:
            return [r.record for r in self._runners.values() if r.request.to == phone]

    @property
    def messages(self) -> list[SentMessage]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, phone: str) -> list[SentMessage]:
        """Every text sent to ``phone``, oldest first."""
        return [m for m in self.messages if m.to == phone]

    @property
    def create_times(self) -> list[float]:
        """``time.monotonic()`` of each accepted create request, to measure pacing."""
        with self._lock:
            return list(self._create_times)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> SimulatedCarrier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals ------------------------------------------------------------------------

    def _phones(self) -> Phones:
        """Staff phones a call's <Dial> rings: scripted ones answer (or not) as scripted."""
        return Phones(self._scripted_behaviour, self._register_leg)

    def _scripted_behaviour(self, phone: str) -> Behaviour | None:
        with self._lock:
            if not self._scripts.get(phone):
                return None
        return self._next_behaviour(phone)

    def _register_leg(self, runner: CallRunner) -> None:
        with self._lock:
            self._runners[runner.record.sid] = runner

    def _next_behaviour(self, phone: str) -> Behaviour:
        with self._lock:
            queue = self._scripts.get(phone)
            if not queue:
                return self.default_behaviour
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _runner(self, sid: str) -> CallRunner:
        with self._lock:
            runner = self._runners.get(sid)
        if runner is None:
            raise CarrierError(
                f"The requested resource /2010-04-01/Accounts/{self.account_sid}/Calls/{sid}"
                ".json was not found",
                ErrorKind.REJECTED,
                20404,
                404,
            )
        return runner

    def _run(self, runner: CallRunner, session: requests.Session) -> None:
        try:
            runner.run()
        except Exception as exc:  # keep the pool alive, but make the bug visible on the call
            log.exception("simulated call %s crashed", runner.record.sid)
            runner.record.errors.append(CallError(SIMULATOR_FAILURE, f"simulator bug: {exc!r}"))
            if not runner.record.final:
                runner.record.status = "failed"
        finally:
            session.close()
            with self._idle:
                self._active -= 1
                self._idle.notify_all()


def _validate(request: CallRequest) -> None:
    """Refuse a create request the way Twilio's REST API does."""
    if not request.to:
        raise refusal(21201)
    if not request.from_:
        raise refusal(21213)
    if not request.url:
        raise refusal(21205)
    if urlsplit(request.url).scheme not in ("http", "https") or not urlsplit(request.url).netloc:
        raise CarrierError(f"Url is not a valid URL: {request.url}", ErrorKind.REJECTED, 21205, 400)
    if not E164.fullmatch(request.to):
        raise refusal(21211, request.to)
    if not E164.fullmatch(request.from_):
        raise refusal(21212)
