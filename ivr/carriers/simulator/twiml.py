"""A strict reader of TwiML voice documents: what Twilio refuses, this refuses too.

The point of the simulator is that a TwiML mistake fails on a developer's machine instead of on
a resident's phone, so anything Twilio treats as fatal raises ``TwimlError`` with Twilio's own
error code (12100 parse failure, 12200 schema violation, 12300 content type). Things Twilio only
warns about (an attribute it does not know) become warnings on the ``Document``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urljoin

PARSE_FAILURE = 12100
SCHEMA_VIOLATION = 12200
BAD_CONTENT_TYPE = 12300

TWIML_CONTENT_TYPES = frozenset({"text/xml", "application/xml", "text/html"})
DIAL_NOUNS = frozenset(
    {"Number", "Client", "Sip", "Conference", "Queue", "Application", "WhatsApp"}
)
SSML_TAGS = frozenset(
    {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
)
FINISH_KEYS = frozenset("0123456789#*")

# Attributes Twilio documents per verb; anything else only earns a warning, as on Twilio.
_GATHER_SPEECH_ATTRIBUTES = (
    "speechTimeout",
    "speechModel",
    "language",
    "hints",
    "profanityFilter",
    "partialResultCallback",
    "partialResultCallbackMethod",
    "enhanced",
    "bargeIn",
    "maxSpeechTime",
    "debug",
)
_DIAL_EXTRA_ATTRIBUTES = (
    "hangupOnStar",
    "record",
    "recordingStatusCallback",
    "recordingStatusCallbackMethod",
    "recordingStatusCallbackEvent",
    "trim",
    "answerOnBridge",
    "ringTone",
    "sequential",
    "callReason",
    "referUrl",
    "referMethod",
    "recordingTrack",
    "recordingConfigurationId",
    "events",
    "passports",
)
_PLAY_DIGITS = re.compile(r"[0-9A-D#*wW]+")


class TwimlError(Exception):
    """A failure Twilio logs against the call with ``code``; the call then takes its fallback."""

    def __init__(self, code: int, message: str, url: str | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.url = url


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1  # 0 = repeat until the call ends


@dataclass(frozen=True)
class Play:
    url: str | None
    loop: int = 1
    digits: str | None = None
    fetched: bool = False  # the audio came back as the webhook answer itself


@dataclass(frozen=True)
class Pause:
    length_s: int = 1


@dataclass(frozen=True)
class Gather:
    action: str
    method: str = "POST"
    input: frozenset[str] = frozenset({"dtmf"})
    timeout_s: int = 5
    num_digits: int | None = None
    finish_on_key: str = "#"
    action_on_empty_result: bool = False
    prompts: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True)
class Redirect:
    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Dial:
    number: str
    action: str | None = None
    method: str = "POST"
    timeout_s: int = 30
    caller_id: str | None = None
    time_limit_s: int = 14400
    number_url: str | None = None  # <Number url>: TwiML the dialed person hears before bridging
    number_method: str = "POST"


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    reason: str = "rejected"


Prompt = Say | Play | Pause
Verb = Say | Play | Pause | Gather | Redirect | Dial | Hangup | Reject


@dataclass(frozen=True)
class Document:
    """One TwiML document; ``url`` is where it came from, the base for relative URLs."""

    url: str
    verbs: tuple[Verb, ...]
    warnings: tuple[str, ...] = ()


def read_reply(content_type: str, body: bytes, url: str) -> Document:
    """Treat a webhook answer by its media type, as Twilio does.

    ``content_type`` is the bare media type, lower case. XML and HTML are parsed as TwiML; plain
    text is TwiML if it parses, otherwise Twilio reads it aloud and hangs up; audio is played
    and the call hangs up; anything else is error 12300.
    """
    if content_type in TWIML_CONTENT_TYPES:
        return parse(body, url)
    if content_type == "text/plain":
        try:
            return parse(body, url)
        except TwimlError:
            text = " ".join(body.decode("utf-8", "replace").split())
            warning = f"{BAD_CONTENT_TYPE} text/plain answer is not TwiML; Twilio reads it aloud"
            return Document(url, (Say(text), Hangup()), (warning,))
    if content_type.startswith("audio/"):
        return Document(url, (Play(url, fetched=True), Hangup()))
    raise TwimlError(
        BAD_CONTENT_TYPE, f"invalid Content-Type {content_type or '(none)'!r} for TwiML", url
    )


def parse(xml: bytes | str, url: str) -> Document:
    """Parse and validate a TwiML document fetched from ``url``."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise TwimlError(PARSE_FAILURE, f"document parse failure: {exc}", url) from None
    if root.tag != "Response":
        raise TwimlError(PARSE_FAILURE, f"root element is <{root.tag}>, not <Response>", url)
    reader = _Reader(url)
    reader.no_text(root)
    verbs = tuple(reader.verb(element) for element in root)
    return Document(url, verbs, tuple(reader.warnings))


def spoken_text(say: ET.Element) -> str:
    """The words a <Say> speaks: SSML markup flattened, <sub> replaced by its alias."""
    parts = [say.text or ""]
    for child in say:
        if child.tag not in SSML_TAGS:
            raise TwimlError(SCHEMA_VIOLATION, f"<{child.tag}> is not allowed inside <{say.tag}>")
        parts.append(child.get("alias", "") if child.tag == "sub" else spoken_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


class _Reader:
    """Reads the verbs of one document, resolving URLs against it and collecting warnings."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.warnings: list[str] = []
        self._prompts: dict[str, Callable[[ET.Element], Prompt]] = {
            "Say": self.say,
            "Play": self.play,
            "Pause": self.pause,
        }
        self._verbs: dict[str, Callable[[ET.Element], Verb]] = {
            **self._prompts,
            "Gather": self.gather,
            "Redirect": self.redirect,
            "Dial": self.dial,
            "Hangup": self.hangup,
            "Reject": self.reject,
        }

    def verb(self, element: ET.Element) -> Verb:
        read = self._verbs.get(element.tag)
        if read is None:
            raise self.error(f"<{element.tag}> is not a TwiML voice verb")
        return read(element)

    def say(self, element: ET.Element) -> Say:
        self.attributes(element, ("voice", "language", "loop"))
        try:
            text = spoken_text(element)
        except TwimlError as exc:
            raise self.error(exc.message) from None
        if not text:
            self.warnings.append(f"{SCHEMA_VIOLATION} <Say> has nothing to say")
        return Say(
            text,
            element.get("voice"),
            element.get("language"),
            self.integer(element, "loop", 1, minimum=0),
        )

    def play(self, element: ET.Element) -> Play:
        self.attributes(element, ("loop", "digits"))
        self.leaf(element)
        digits = element.get("digits")
        if digits is not None and not _PLAY_DIGITS.fullmatch(digits):
            raise self.error(f"<Play digits={digits!r}> may only hold 0-9 A-D # * w W")
        source = (element.text or "").strip()
        if not source and digits is None:
            raise self.error("<Play> needs a media URL or a digits attribute")
        return Play(
            self.resolve(source) if source else None,
            self.integer(element, "loop", 1, minimum=0),
            digits,
        )

    def pause(self, element: ET.Element) -> Pause:
        self.attributes(element, ("length",))
        self.leaf(element)
        self.no_text(element)
        return Pause(self.integer(element, "length", 1, minimum=1))

    def gather(self, element: ET.Element) -> Gather:
        self.attributes(
            element,
            (
                "action",
                "method",
                "input",
                "timeout",
                "numDigits",
                "finishOnKey",
                "actionOnEmptyResult",
                *_GATHER_SPEECH_ATTRIBUTES,
            ),
        )
        self.no_text(element)
        prompts: list[Prompt] = []
        for child in element:
            read = self._prompts.get(child.tag)
            if read is None:
                raise self.error(
                    f"<{child.tag}> is not allowed inside <Gather> (only <Say>, <Play> and <Pause>)"
                )
            prompts.append(read(child))
        return Gather(
            action=self.resolve(element.get("action") or ""),
            method=self.method(element),
            input=self.inputs(element),
            timeout_s=self.integer(element, "timeout", 5, minimum=1),
            num_digits=self.optional_integer(element, "numDigits"),
            finish_on_key=self.finish_key(element),
            action_on_empty_result=self.boolean(element, "actionOnEmptyResult"),
            prompts=tuple(prompts),
        )

    def redirect(self, element: ET.Element) -> Redirect:
        self.attributes(element, ("method",))
        self.leaf(element)
        target = (element.text or "").strip()
        if not target:
            raise self.error("<Redirect> needs a URL")
        return Redirect(self.resolve(target), self.method(element))

    def dial(self, element: ET.Element) -> Dial:
        self.attributes(
            element,
            ("action", "method", "timeout", "callerId", "timeLimit", *_DIAL_EXTRA_ATTRIBUTES),
        )
        action = element.get("action")
        noun = next(iter(element), None)
        screen = noun.get("url") if noun is not None and noun.tag == "Number" else None
        return Dial(
            number=self.dial_target(element),
            action=self.resolve(action) if action else None,
            number_url=self.resolve(screen) if screen else None,
            number_method=self.method(noun) if screen and noun is not None else "POST",
            method=self.method(element),
            timeout_s=self.integer(element, "timeout", 30, minimum=1),
            caller_id=element.get("callerId"),
            time_limit_s=self.integer(element, "timeLimit", 14400, minimum=1),
        )

    def dial_target(self, element: ET.Element) -> str:
        """The number (or other noun) a <Dial> rings: its text or its first noun's text."""
        for child in element:
            if child.tag not in DIAL_NOUNS:
                raise self.error(f"<{child.tag}> is not allowed inside <Dial>")
        nouns = list(element)
        target = ((nouns[0].text if nouns else element.text) or "").strip()
        if not target:
            raise self.error("<Dial> has nothing to dial")
        return target

    def hangup(self, element: ET.Element) -> Hangup:
        self.attributes(element, ())
        self.leaf(element)
        self.no_text(element)
        return Hangup()

    def reject(self, element: ET.Element) -> Reject:
        self.attributes(element, ("reason",))
        self.leaf(element)
        return Reject(self.choice(element, "reason", "rejected", ("rejected", "busy")))

    # --- attribute and content checks --------------------------------------------------------

    def attributes(self, element: ET.Element, known: Collection[str]) -> None:
        for name in element.attrib:
            if name not in known:
                self.warnings.append(
                    f"{SCHEMA_VIOLATION} <{element.tag}> has an unknown attribute {name!r}"
                )

    def leaf(self, element: ET.Element) -> None:
        if len(element):
            raise self.error(f"<{element[0].tag}> is not allowed inside <{element.tag}>")

    def no_text(self, element: ET.Element) -> None:
        stray = [(element.text or "").strip(), *((c.tail or "").strip() for c in element)]
        if any(stray):
            raise self.error(f"<{element.tag}> cannot contain text ({next(filter(None, stray))!r})")

    def integer(self, element: ET.Element, name: str, default: int, minimum: int) -> int:
        raw = element.get(name)
        if raw is None:
            return default
        digits = raw.strip()
        if not (digits.isascii() and digits.isdigit()) or int(digits) < minimum:
            raise self.error(
                f"<{element.tag} {name}={raw!r}> must be a whole number of at least {minimum}"
            )
        return int(digits)

    def optional_integer(self, element: ET.Element, name: str) -> int | None:
        return self.integer(element, name, 0, minimum=1) if element.get(name) else None

    def boolean(self, element: ET.Element, name: str) -> bool:
        return self.choice(element, name, "false", ("true", "false")) == "true"

    def choice(self, element: ET.Element, name: str, default: str, allowed: Collection[str]) -> str:
        value = element.get(name, default)
        folded = value.strip().lower()
        if folded not in allowed:
            raise self.error(
                f"<{element.tag} {name}={value!r}> must be one of {', '.join(allowed)}"
            )
        return folded

    def method(self, element: ET.Element) -> str:
        return self.choice(element, "method", "POST", ("get", "post")).upper()

    def inputs(self, element: ET.Element) -> frozenset[str]:
        kinds = frozenset(element.get("input", "dtmf").split())
        if not kinds or not kinds <= {"dtmf", "speech"}:
            raise self.error(
                f"<Gather input={element.get('input')!r}> must be dtmf, speech or 'dtmf speech'"
            )
        return kinds

    def finish_key(self, element: ET.Element) -> str:
        key = element.get("finishOnKey", "#")
        if key and key not in FINISH_KEYS:
            raise self.error(f"<Gather finishOnKey={key!r}> must be one key (0-9, # or *) or empty")
        return key

    def resolve(self, reference: str) -> str:
        """Relative URLs count from the document's own URL (an empty one means the document)."""
        return urljoin(self.url, reference.strip())

    def error(self, message: str) -> TwimlError:
        return TwimlError(SCHEMA_VIOLATION, message, self.url)
