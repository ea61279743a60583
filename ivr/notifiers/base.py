"""What every notifier shares: the alert it is given, one error type, and the message templates.

A notifier does two things. ``compose`` turns an ``Alert`` into the exact body to send (for a
text, also the approved template it follows and that template's variables, which is all a
mainland China SMS service takes); both are stored on the ``Notification`` row when the
escalation opens, so what was sent can be read back later. ``send`` delivers a stored message to
one recipient and returns the provider's id.

A request that reached the target but got no answer (it hung, or the connection dropped) fails
as ``unsure``: it may have been delivered. A notifier whose target can tell (``resends_unsure``)
is tried again: the SMS notifier first asks the carrier whether the text exists
(``already_sent``), the JSON webhook gets the same ``Idempotency-Key`` every time. A WeCom or
DingTalk robot offers neither, so such a post is recorded as possibly sent and not repeated.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Protocol

import jinja2

from ivr.carriers.telephony import TextMessage


class NotifyError(Exception):
    """A delivery that did not happen (or, ``unsure``, may have). ``permanent`` ones are not
    retried."""

    def __init__(self, message: str, permanent: bool = False, *, unsure: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unsure = unsure


@dataclass(frozen=True)
class Alert:
    """Everything a message about one escalation may show, already in display form."""

    escalation_id: int
    kind: str  # opened | reminder | family | recovered
    reason: str
    severity: str  # the highest of ``reason`` and ``also``
    resident: str
    phone: str  # E.164
    phone_display: str
    address: str
    community: str
    hotline: str | None
    temperature_c: Decimal | None
    opened_at: dt.datetime  # aware UTC
    opened_local: str  # "11-28 09:05" in the deployment's time zone
    ack_code: str | None
    detail: str  # in English, for programs (the JSON lane)
    latest: str = ""  # the newest event in the alerts' language (Chinese), for people
    reminder: int = 0  # which reminder this is (kind "reminder")
    waited_min: int = 0  # minutes without acknowledgement (kind "reminder")
    temperature_confirmed: bool = True  # false: keyed, never confirmed at the read-back
    reading_c: Decimal | None = None  # the temperature the resident checked in with ("recovered")
    reading_local: str = ""  # when, "16:05" ("recovered")
    also: tuple[str, ...] = ()  # other reasons of the same reading, told in the same message
    replies: bool = True  # staff can acknowledge by replying (no two-way SMS in mainland China)

    def context(self) -> dict[str, Any]:
        """The template variables: the fields plus the reason and severity in words."""
        words = _words()
        return {
            **asdict(self),
            "reason_words": "、".join(
                str(words.reason(r)).strip() for r in (self.reason, *self.also)
            ),
            "severity_words": str(words.severity(self.severity)).strip(),
            "temperature": f"{self.temperature_c:.1f}" if self.temperature_c is not None else "",
            "reading": f"{self.reading_c:.1f}" if self.reading_c is not None else "",
        }


class Notifier(Protocol):
    channel: str
    resends_unsure: bool  # an unsure delivery may be tried again without a duplicate

    def compose(self, alert: Alert) -> TextMessage:
        """The message to store and later send."""

    def send(self, recipient: str, message: TextMessage, reference: str) -> str | None:
        """Deliver ``message``; the provider's message id if it gives one. ``reference`` is the
        same on every try of one notification. Raises ``NotifyError``."""

    def already_sent(self, recipient: str, message: TextMessage, since: dt.datetime) -> str | None:
        """Before resending after an unsure try: the provider's id if it was delivered after
        all. Raises ``NotifyError`` when that cannot be told now."""


@functools.cache
def environment() -> jinja2.Environment:
    """Templates under ``ivr/templates``; plain text, so nothing is HTML-escaped."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ivr", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    """Render ``templates/alerts/<name>``; surrounding blank space is dropped."""
    return environment().get_template(f"alerts/{name}").render(**context).strip()


def _words() -> Any:
    return environment().get_template("alerts/words.txt").module


def reason_words(reason: str) -> str:
    """``fever`` → ``发热`` (unknown reasons are shown as they are)."""
    return str(_words().reason(reason)).strip()
