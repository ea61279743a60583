"""The values a simulated call starts from (``CallRequest``) and leaves behind (``CallRecord``).

A ``CallRecord`` is what a test or a demo looks at afterwards: what the resident heard, which
keys were submitted, every request made to the app and every error Twilio would have logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from ivr.carriers.telephony import (
    FALLBACK_METHOD,
    FINAL_STATUSES,
    MACHINE_DETECTION_MODE,
    OutboundCall,
)

STATUS_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
MACHINE_DETECTION_MODES = frozenset({"Enable", "DetectMessageEnd"})


@dataclass(frozen=True)
class CallRequest:
    """A call as Twilio's create-call request describes it (field names follow the REST API)."""

    to: str
    from_: str
    url: str
    method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)  # Twilio's default
    timeout_s: int = 60
    time_limit_s: int = 14400
    machine_detection: str | None = None  # "Enable" or "DetectMessageEnd"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    direction: str = "outbound-api"
    parent_call_sid: str | None = None  # a <Dial> leg's: the call that dialed it

    @classmethod
    def from_outbound(cls, call: OutboundCall) -> CallRequest:
        return cls(
            to=call.to,
            from_=call.from_,
            url=call.url,
            status_callback=call.status_callback,
            status_callback_events=tuple(call.status_callback_events),
            timeout_s=call.timeout_s,
            time_limit_s=call.time_limit_s,
            machine_detection=MACHINE_DETECTION_MODE if call.machine_detection else None,
            fallback_url=call.fallback_url,
            fallback_method=FALLBACK_METHOD,
        )


class Heard(NamedTuple):
    """One <Say> the person heard (once, however often it looped)."""

    text: str
    language: str | None


class Gathered(NamedTuple):
    """What one <Gather> collected; ("", "") when the person stayed silent."""

    digits: str
    finished_on_key: str


class Dialed(NamedTuple):
    number: str
    status: str
    duration_s: int


class Moment(NamedTuple):
    """When something happened on the line, in simulated seconds from the start of the call:
    a prompt began (``say``), a key was pressed (``key``), the app was asked (``request``)."""

    at_s: float
    kind: str
    what: str


class Exchange(NamedTuple):
    """One request to the app; ``status`` is None when no HTTP answer came back."""

    method: str
    url: str
    params: dict[str, str]
    status: int | None


class CallError(NamedTuple):
    """An error Twilio would log on the call (``code`` is Twilio's error code)."""

    code: int
    message: str


@dataclass
class CallRecord:
    """Everything observable about one simulated call; filled in while the call runs."""

    sid: str
    to: str
    from_: str
    direction: str
    behaviour: str
    created_at: dt.datetime
    status: str = "queued"
    answered_by: str | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    duration_s: int = 0
    ended_by: str = ""
    heard: list[Heard] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    gathers: list[Gathered] = field(default_factory=list)
    dials: list[Dialed] = field(default_factory=list)
    requests: list[Exchange] = field(default_factory=list)
    status_callbacks: list[dict[str, str]] = field(default_factory=list)
    errors: list[CallError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # (kind "twiml" | "status", HTTP status or None, seconds): for load tests and benchmarks
    timings: list[tuple[str, int | None, float]] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def resource_status(self) -> str:
        """The status the REST Call resource shows: it has no "initiated", only "queued"."""
        return "queued" if self.status == "initiated" else self.status

    def heard_text(self, separator: str = " ") -> str:
        """Everything the person heard, in order, e.g. to assert on a read-back."""
        return separator.join(item.text for item in self.heard)

    def submitted_digits(self) -> list[str]:
        """The ``Digits`` of every gather that reached the app (silences included as "")."""
        return [r.params["Digits"] for r in self.requests if "Digits" in r.params]

    def seconds_to_next_prompt(self, key: str, nth: int = 0) -> float | None:
        """How long after the ``nth`` press of ``key`` the caller heard the next prompt begin."""
        presses = [m for m in self.moments if m.kind == "key" and m.what == key]
        if len(presses) <= nth:
            return None
        pressed = presses[nth]
        later = [m for m in self.moments if m.kind == "say" and m.at_s >= pressed.at_s]
        return later[0].at_s - pressed.at_s if later else None

    def error_codes(self) -> list[int]:
        return [error.code for error in self.errors]

    def callback_statuses(self) -> list[str]:
        """``CallStatus`` of each status callback, in the order they were sent."""
        return [params["CallStatus"] for params in self.status_callbacks]
