"""The call flow's actions as VMS 智能外呼 replies, and where a call stands between callbacks.

VMS has no ``<Gather>``: every key press arrives as its own ``dtmf`` callback and silence as a
``mute`` callback after ``mute_time``. Where a call stands (its attempt, the flow's turn, the
keys of an entry still being keyed and how that entry ends) travels in ``dynamic_id``, which
the platform hands back on the next callback, so a number keyed in several presses needs no
extra storage. Text sent to the platform never contains the characters SmartCall forbids in
callbacks (``@ = : "" $ { } ^ * ¥``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from callflows import Action, Gather, Hangup, Keys, Say, Transfer
from ivr.web.voice.twiml import Render

OPENING = ("hello", "喂")  # SmartCall's VoiceCode TTS variable: what is said on pick-up
OPENING_MUTE_MS = 1000  # the first callback (the call is answered) comes this soon after it
ANSWER_TURN = "a"  # the turn in the first dynamic_id: the callback that says "answered"
CALL_IN = "callin"  # the content_type of a call to our number's first callback
OUT_ID_MAX = 15  # SmartCall's OutId is 1 to 15 bytes
MUTE_MS = (1000, 20000)  # the range VMS accepts for mute_time

# What SmartCall forbids in callback text, and how a listener still hears the same thing.
FORBIDDEN = {"*": "星号", "＊": "星号", "¥": "元", "$": "", "@": "", "^": "", "{": "(", "}": ")"}
_FORBIDDEN = re.compile(r"[@$\{\}\^\*¥＊]")
_KEY_CODES = {"*": "s", "#": "h"}
_CODES_KEY = {v: k for k, v in _KEY_CODES.items()}
_CURSOR = re.compile(r"([A-Za-z0-9_-]{8,40})\.(a|\d{1,4})\.(\d{0,3})\.([0-9sh]?)\.([0-9sh]{0,32})")


@dataclass(frozen=True)
class Cursor:
    """Where a call stands, as carried in ``dynamic_id``."""

    code: str
    turn: str
    num_digits: int | None = None
    finish_key: str = ""
    keyed: str = ""

    @classmethod
    def parse(cls, raw: str) -> Cursor | None:
        match = _CURSOR.fullmatch(raw or "")
        if match is None:
            return None
        code, turn, digits, finish, keyed = match.groups()
        return cls(
            code,
            turn,
            int(digits) if digits else None,
            _CODES_KEY.get(finish, finish),
            "".join(_CODES_KEY.get(c, c) for c in keyed),
        )

    def __str__(self) -> str:
        keyed = "".join(_KEY_CODES.get(c, c) for c in self.keyed)
        finish = _KEY_CODES.get(self.finish_key, self.finish_key)
        digits = "" if self.num_digits is None else str(self.num_digits)
        return f"{self.code}.{self.turn}.{digits}.{finish}.{keyed}"

    def press(self, key: str) -> tuple[Cursor, Keys | None]:
        """One more key, by Twilio's ``<Gather>`` rules: the entry when it is complete."""
        if self.finish_key and key == self.finish_key:
            return replace(self, keyed=""), Keys(self.keyed)
        keyed = self.keyed + key
        if self.num_digits is not None and len(keyed) >= self.num_digits:
            return replace(self, keyed=""), Keys(keyed)
        return replace(self, keyed=keyed), None


def national(e164: str) -> str:
    """A mainland number as VMS takes it: no country code; a fixed line with its area code's
    trunk 0 (0371 6788 1104), a mobile as it is (138 0371 0101)."""
    if not e164.startswith("+86"):
        return e164
    rest = e164[3:]
    return rest if rest.startswith("1") else "0" + rest


def e164(number: str) -> str:
    """The E.164 form of a number VMS shows (``national``'s inverse)."""
    if number.startswith("0"):
        return "+86" + number[1:]
    return "+86" + number if number.startswith("1") else number


def out_id(code: str) -> str:
    return code[:OUT_ID_MAX]


def first_dynamic_id(code: str) -> str:
    return str(Cursor(code, ANSWER_TURN))


def speakable(text: str) -> str:
    """Text the platform accepts: forbidden characters become words or their full-width forms."""
    text = text.replace("=", "等于").replace(":", "：").replace('"', "")
    return _FORBIDDEN.sub(lambda m: FORBIDDEN.get(m.group(0), ""), text)


def reply(call_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The envelope of every callback reply (the platform's "调用成功" example)."""
    return {"result": "success", "msg": "成功", "code": 200, "data": {"call_id": call_id, **data}}


def render(
    actions: tuple[Action, ...], how: Render, cursor: Cursor, call_id: str
) -> dict[str, Any]:
    """One reply for one turn: its prompts as one TTS text, then collect, transfer or hang up."""
    texts: list[str] = []
    gather: Gather | None = None
    ending: Hangup | Transfer | None = None
    for action in actions:
        if isinstance(action, Say):
            texts.append(_text(action, how))
        elif isinstance(action, Gather):
            texts.extend(_text(p, how) for p in action.prompts)
            gather = action
        elif isinstance(action, Hangup | Transfer):
            ending = action
            break
    data: dict[str, Any] = _play("".join(texts)) if any(texts) else {}
    if isinstance(ending, Transfer):
        return reply(call_id, {**data, "action": "transfer", "number": _number(how)})
    if ending is not None or gather is None:
        return reply(call_id, {**data, "action": "hangup", "action_code_break": False})
    collecting = Cursor(cursor.code, cursor.turn, gather.num_digits, gather.finish_key)
    # A silent gather (a number's rest after its first key) stops what is still being said.
    base = {"action": "play"} if data else {"action": "break"}
    return reply(
        call_id,
        {
            **base,
            **data,
            "action_break": True,
            "action_code_break": True,
            "mute_time": _mute_ms(gather.timeout_s),
            "dynamic_id": str(collecting),
        },
    )


def answering(reply_: dict[str, Any], time_limit_s: int) -> dict[str, Any]:
    """A reply to a ``callin``: its actions are ``answer`` (pick up, say the opening and listen)
    or ``hangup``; the call's length is capped here, as ``SessionTimeout`` caps an outbound one."""
    data = reply_["data"]
    if data.get("action") in ("play", "break"):
        data = {**data, "action": "answer", "session_timeout": time_limit_s}
    return {**reply_, "data": data}


def keep_keying(cursor: Cursor, call_id: str) -> dict[str, Any]:
    """An entry under way: stop the prompt (as a key press stops Twilio's) and wait for more."""
    return reply(call_id, {"action": "break", "dynamic_id": str(cursor)})


def keep_listening(cursor: Cursor, call_id: str) -> dict[str, Any]:
    """Something that is not an answer (speech): go on as before."""
    return reply(call_id, {"action": "continue", "dynamic_id": str(cursor)})


def hang_up(call_id: str, text: str = "") -> dict[str, Any]:
    return reply(call_id, {**(_play(text) if text else {}), "action": "hangup"})


def _play(text: str) -> dict[str, Any]:
    param = json.dumps({"tts": speakable(text)}, ensure_ascii=False)
    return {"action_code": "$tts$", "action_code_param": param}


def _text(action: Say, how: Render) -> str:
    return how.catalogue.text(action.prompt, how.voice.lang, {**how.args, **action.args})


def _mute_ms(timeout_s: int) -> int:
    low, high = MUTE_MS
    return max(low, min(high, timeout_s * 1000))


def _number(how: Render) -> str:
    return national(how.transfer_to() or "")
