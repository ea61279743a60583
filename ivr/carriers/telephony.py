"""The carrier behind one small interface: place a call, look one up, send an SMS.

``TwilioCarrier`` talks to Twilio (or any Twilio-compatible REST endpoint) through the official
SDK; the simulator (``ivr.carriers.simulator``) implements the same protocol locally. Every failure
is a
``CarrierError`` whose ``kind`` tells the dialer what to do next.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.carriers.ambiguity import may_have_arrived

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
MAX_PARALLEL_REQUESTS = 64  # REST requests one process sends at once (``ivr.worker.dialer``)


class ErrorKind(StrEnum):
    TRANSIENT = "transient"  # 429, 5xx, timeouts: try the same attempt again later
    BAD_NUMBER = "bad_number"  # the number can never be called as it is
    AUTH = "auth"  # our credentials are wrong: stop dialing altogether
    REJECTED = "rejected"  # any other refusal of this one request


BAD_NUMBER_CODES = frozenset({21211, 21214, 21215, 21216, 21217, 21219, 13224})
TRANSIENT_CODES = frozenset({20429, 20500, 20503})


class CarrierError(Exception):
    def __init__(
        self,
        message: str,
        kind: ErrorKind,
        code: int | None = None,
        status: int | None = None,
        *,
        unsure: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.status = status
        self.unsure = unsure  # the request may have been carried out (its answer was lost)

    @classmethod
    def from_twilio(cls, exc: TwilioRestException) -> CarrierError:
        code = exc.code if isinstance(exc.code, int) else None
        status = exc.status
        if status == 401 or code == 20003:
            kind = ErrorKind.AUTH
        elif code in BAD_NUMBER_CODES:
            kind = ErrorKind.BAD_NUMBER
        elif status == 429 or status >= 500 or code in TRANSIENT_CODES:
            kind = ErrorKind.TRANSIENT
        else:
            kind = ErrorKind.REJECTED
        return cls(str(exc.msg), kind, code, status)


@dataclass(frozen=True)
class OutboundCall:
    """What the dialer asks for; field names follow Twilio's Calls API."""

    to: str
    from_: str
    url: str
    status_callback: str
    status_callback_events: tuple[str, ...] = STATUS_EVENTS
    # Fetched by the carrier when a webhook fails, so the caller hears our words, not its own
    fallback_url: str | None = None
    timeout_s: int = 45
    time_limit_s: int = 900
    machine_detection: bool = False


# The fallback document is static, so GET: it can be served from any web server or bucket.
FALLBACK_METHOD = "GET"

# Detection waits for the voicemail greeting's end (the beep), so that the short message with the
# hotline is recorded instead of being spoken over the greeting ("Enable" answers at once).
MACHINE_DETECTION_MODE = "DetectMessageEnd"


@dataclass(frozen=True)
class CallInfo:
    sid: str
    status: str
    duration_s: int | None = None
    answered_by: str | None = None


@dataclass(frozen=True)
class TextMessage:
    """A text as it crosses the seam: the words (Twilio sends them), and the approved template
    they were written from with its variables (Alibaba Cloud sends only those: mainland China
    takes no free text). ``reference`` is the same on every try of one notification."""

    body: str
    template: str = ""  # opened | reminder | family | recovered
    params: Mapping[str, str] = field(default_factory=dict)
    reference: str = ""


@dataclass
class SentMessage:
    sid: str
    to: str
    body: str
    extra: dict[str, str] = field(default_factory=dict)
    template: str = ""  # what the carrier was given instead of ``body``, where it takes no text
    params: dict[str, str] = field(default_factory=dict)


class Carrier(Protocol):
    name: str

    def place_call(self, call: OutboundCall) -> str:
        """Create the call and return its CallSid; raises ``CarrierError``."""

    def fetch_call(self, sid: str) -> CallInfo:
        """The carrier's view of a call (used to settle calls whose callbacks were lost)."""

    def send_sms(self, to: str, from_: str, text: TextMessage) -> str:
        """Send a text message and return its sid; raises ``CarrierError``."""

    def find_sms(self, to: str, from_: str, text: TextMessage, since: dt.datetime) -> str | None:
        """The sid of this text sent to ``to`` since ``since``, if there is one: the check
        before resending a text whose request timed out (neither Twilio's Messages API nor
        Alibaba Cloud's SendSms has an idempotency key). Raises ``CarrierError``."""

    def check(self) -> list[str]:
        """What is wrong with the account, found by harmless read-only requests (``pingan
        health``); empty when nothing is. Raises ``CarrierError`` when it cannot tell."""


class TwilioCarrier:
    """Twilio through the official SDK, pointed at ``api_base`` (any Twilio-compatible server)."""

    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, api_base: str, timeout_s: float = 15
    ) -> None:
        http = TwilioHttpClient(timeout=timeout_s)
        # The dialer sends up to MAX_PARALLEL_REQUESTS at once; the SDK's default pool (a few
        # connections) would open and discard a TCP/TLS connection for most of them.
        assert http.session is not None
        for scheme in ("https://", "http://"):
            http.session.mount(scheme, HTTPAdapter(pool_maxsize=MAX_PARALLEL_REQUESTS))
        self._client = Client(account_sid, auth_token, http_client=http)
        if api_base.rstrip("/") != "https://api.twilio.com":
            self._client.api.base_url = api_base.rstrip("/")
            # TWILIO_REGION / TWILIO_EDGE in the environment would make the SDK rewrite the
            # host (127.0.0.1 became 127.sydney.au1.0.1): the configured endpoint is meant.
            self._client.edge = self._client.region = None

    def place_call(self, call: OutboundCall) -> str:
        extra = {"machine_detection": MACHINE_DETECTION_MODE} if call.machine_detection else {}
        if call.fallback_url:
            extra |= {"fallback_url": call.fallback_url, "fallback_method": FALLBACK_METHOD}
        try:
            created = self._client.calls.create(
                to=call.to,
                from_=call.from_,
                url=call.url,
                method="POST",
                status_callback=call.status_callback,
                status_callback_method="POST",
                status_callback_event=list(call.status_callback_events),
                timeout=call.timeout_s,
                time_limit=call.time_limit_s,
                **extra,
            )
        except TwilioRestException as exc:
            raise CarrierError.from_twilio(exc) from exc
        except (TwilioException, OSError) as exc:
            raise CarrierError(f"carrier unreachable: {exc}", ErrorKind.TRANSIENT) from exc
        return str(created.sid)

    def fetch_call(self, sid: str) -> CallInfo:
        try:
            found = self._client.calls(sid).fetch()
        except TwilioRestException as exc:
            raise CarrierError.from_twilio(exc) from exc
        except (TwilioException, OSError) as exc:
            raise CarrierError(f"carrier unreachable: {exc}", ErrorKind.TRANSIENT) from exc
        duration = int(found.duration) if found.duration not in (None, "") else None
        return CallInfo(str(found.sid), str(found.status), duration, found.answered_by)

    def send_sms(self, to: str, from_: str, text: TextMessage) -> str:
        try:
            message = self._client.messages.create(to=to, from_=from_, body=text.body)
        except TwilioRestException as exc:
            raise CarrierError.from_twilio(exc) from exc
        except (TwilioException, OSError) as exc:
            raise CarrierError(
                f"carrier unreachable: {exc}", ErrorKind.TRANSIENT, unsure=may_have_arrived(exc)
            ) from exc
        return str(message.sid)

    def find_sms(self, to: str, from_: str, text: TextMessage, since: dt.datetime) -> str | None:
        # DateSent filters by day: a day before ``since`` is enough, the body decides.
        try:
            sent = self._client.messages.list(
                to=to, from_=from_, date_sent_after=since - dt.timedelta(days=1), limit=50
            )
        except TwilioRestException as exc:
            raise CarrierError.from_twilio(exc) from exc
        except (TwilioException, OSError) as exc:
            raise CarrierError(f"carrier unreachable: {exc}", ErrorKind.TRANSIENT) from exc
        return next((str(m.sid) for m in sent if m.body == text.body), None)

    def check(self) -> list[str]:
        # Listing one message is read-only and needs the account's credentials.
        try:
            self._client.messages.list(limit=1)
        except TwilioRestException as exc:
            error = CarrierError.from_twilio(exc)
            if error.kind == ErrorKind.AUTH:
                return [f"Twilio refused the credentials ({error.code}): {error}"]
            raise error from exc
        except (TwilioException, OSError) as exc:
            raise CarrierError(f"carrier unreachable: {exc}", ErrorKind.TRANSIENT) from exc
        return []
