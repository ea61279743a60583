"""What a call's webhook must carry before anything is looked up or stored.

A valid signature proves a request came from whoever holds the auth token, not that it makes
sense. Every voice request Twilio sends names its call (``CallSid``, ``CA`` + 32 hex digits);
a request without one, or with a CallSid no carrier would send, answers 400 and changes
nothing. Other parameters are read defensively where they are used (``ivr.domain.calls``).

Each webhook also accepts only the parameters Twilio sends to it (``../shared/twilio-voice-
contract.md`` §4, Twilio's "Request parameters" pages). The signature covers the names and
values run together, so ``Digits=1`` and ``Digit=s1`` sign the same string: a name no Twilio
request carries, or a name given twice, is the trace of such a shifted boundary and answers
400 before anything is read.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")

_PLACES = frozenset(
    f"{who}{what}"
    for who in ("From", "To", "Caller", "Called")
    for what in ("City", "State", "Zip", "Country")
)
# Every voice request (contract §4.2), with the legacy aliases, caller-ID lookup, inbound
# identity (STIR/SHAKEN, CallToken) and answering-machine detection (§4.7).
CALL = _PLACES | {
    "CallSid", "AccountSid", "From", "To", "CallStatus", "ApiVersion", "Direction",
    "ForwardedFrom", "CallerName", "ParentCallSid", "CallToken", "Caller", "Called",
    "StirVerstat", "StirPassportToken", "AnsweredBy", "MachineDetectionDuration",
}  # fmt: skip
_RECORDING = frozenset({"RecordingUrl", "RecordingSid", "RecordingDuration"})
GATHER = CALL | {"Digits", "FinishedOnKey", "msg", "SpeechResult", "Confidence"}  # §4.4
DIAL = CALL | _RECORDING | {"DialCallStatus", "DialCallSid", "DialCallDuration", "DialBridged"}
STATUS = CALL | _RECORDING | {  # §4.6
    "Timestamp", "CallbackSource", "SequenceNumber", "CallDuration", "Duration",
    "SipResponseCode", "QueueTime", "ErrorCode", "ErrorMessage",
}  # fmt: skip
# An incoming text (Twilio Messaging webhook), media and channel fields included.
SMS = (
    _PLACES
    | {f"Media{kind}{n}" for kind in ("Url", "ContentType") for n in range(10)}
    | {
        "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "MessagingServiceSid", "From",
        "To", "Body", "NumMedia", "NumSegments", "SmsStatus", "ApiVersion", "ReferralNumMedia",
        "OptOutType", "AddOns", "ProfileName", "WaId", "Forwarded", "FrequentlyForwarded",
        "ButtonText", "ButtonPayload", "MessageType", "ChannelMetadata",
    }
)  # fmt: skip


def expects(names: frozenset[str] | set[str]) -> Callable[[F], F]:
    """Refuse (400) a webhook carrying a parameter outside ``names``, or one twice."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            unexpected = sorted(set(request.form) - names)
            repeated = sorted(k for k, v in request.form.lists() if len(v) > 1)
            if unexpected or repeated:
                log.warning(
                    "webhook %s with parameters no carrier sends it (%s); refused",
                    request.path,
                    ", ".join(repr(k[:40]) for k in [*unexpected, *repeated][:5]),
                )
                abort(400)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def names_a_call(view: F) -> F:
    """Refuse (400) a webhook whose ``CallSid`` is missing or malformed."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not CALL_SID.fullmatch(request.form.get("CallSid", "")):
            log.warning("webhook %s without a valid CallSid; refused", request.path)
            abort(400)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
