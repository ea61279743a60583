"""A flow's turn as a chat message: its prompts as text, its keys as inline buttons.

The flow and the engine are the call's (``callflows``); this only renders. Each button carries
the key the keypad would send (``k``) or a number-pad key (``p``), with the chat check-in's id
and the turn it belongs to, so a button of a past question is recognised as stale.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from callflows import Flow, Gather, Say
from callflows.engine import FlowState
from callflows.flow import Step
from callflows.types import Action
from ivr.carriers.telegram.texts import prompt, word

MAX_CALLBACK_BYTES = 64  # Telegram's limit on InlineKeyboardButton.callback_data
PAD_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", ".", "0", "<")
PAD_MAX = 5  # "36.5": enough for any reading


@dataclass(frozen=True)
class Button:
    label: str
    data: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.data.encode()) <= MAX_CALLBACK_BYTES:
            raise ValueError(f"callback_data must be 1-{MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True)
class Screen:
    text: str
    rows: tuple[tuple[Button, ...], ...] = ()

    def markup(self) -> dict[str, object] | None:
        if not self.rows:
            return None
        return {
            "inline_keyboard": [
                [{"text": b.label, "callback_data": b.data} for b in row] for row in self.rows
            ]
        }


@dataclass(frozen=True)
class Press:
    """A button press decoded: ``kind`` k (a key) or p (the number pad)."""

    kind: str
    session_id: int
    turn: int
    key: str


_PRESS = re.compile(r"([kp]):(\d{1,12}):(\d{1,6}):([0-9#*.<a-z]{1,4})")


def decode(data: str) -> Press | None:
    match = _PRESS.fullmatch(data)
    if match is None:
        return None
    kind, session_id, turn, key = match.groups()
    return Press(kind, int(session_id), int(turn), key)


def text_of(flow: Flow, actions: Sequence[Action], lang: str, args: Mapping[str, str]) -> str:
    """Every prompt the turn says, as one message (prompts a chat leaves out are empty)."""
    says: list[Say] = []
    for action in actions:
        if isinstance(action, Say):
            says.append(action)
        elif isinstance(action, Gather):
            says += action.prompts
    lines = [prompt(flow, s.prompt, lang, {**args, **s.args}) for s in says]
    return "\n".join(line for line in lines if line)


def keyboard(
    flow: Flow, raw_state: Mapping[str, object], lang: str, session_id: int, turn: int
) -> tuple[tuple[Button, ...], ...]:
    """The buttons of the step the flow now waits on; none once it has ended."""
    state = FlowState.load(raw_state)
    if state.outcome or state.step is None or state.step not in flow.steps:
        return ()
    step = flow.step(state.step)

    def key(label: str, digits: str) -> Button:
        return Button(label, f"k:{session_id}:{turn}:{digits}")

    away = _away_row(flow, state, lang, key)
    if step.type == "any_key":
        extra = [key(word(lang, name, "?"), digits) for digits, name in step.info.items()]
        first = next(k for k in "1234567890" if k not in step.info)
        return ((key(word(lang, "start"), first), *extra),)
    if step.type == "number" and state.phase == "confirm":
        return ((key(word(lang, "correct"), "1"), key(word(lang, "again"), "2")), *away)
    if step.type == "number":
        return (*_pad(session_id, turn, lang), *away)
    if step.type == "yes_no":
        yes = word(lang, f"{step.name}.yes", word(lang, "yes"))
        no = word(lang, f"{step.name}.no", word(lang, "no"))
        return ((key(yes, "1"), key(no, "2")), *away)
    if step.type in ("choice", "multi"):
        return (*_options(step, state, lang, key), *away)
    return away


def _away_row(
    flow: Flow, state: FlowState, lang: str, key: Callable[[str, str], Button]
) -> tuple[tuple[Button, ...], ...]:
    """In a household member's questions, "<name>不在家": the household call's away key
    (7), which skips the member (called again later, counted as not reached)."""
    household = flow.household
    if household is None or not state.members or state.member >= len(state.members):
        return ()
    if state.step not in household.steps or state.keyed:
        return ()
    name = state.members[state.member]
    return ((key(word(lang, "away", name=name), household.away_key),),)


def _options(
    step: Step, state: FlowState, lang: str, key: Callable[[str, str], Button]
) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    for digits, value in step.options.items():
        mark = "✓ " if value in state.chosen else ""
        rows.append((key(mark + word(lang, value), digits),))
    if step.done_key:
        rows.append((key(word(lang, "done"), step.done_key),))
    for digits, target in step.goto.items():
        rows.append((key(word(lang, target), digits),))
    return tuple(rows)


def _pad(session_id: int, turn: int, lang: str) -> tuple[tuple[Button, ...], ...]:
    def pad(label: str, digits: str) -> Button:
        return Button(label, f"p:{session_id}:{turn}:{digits}")

    keys = [pad(word(lang, "clear") if k == "<" else k, k) for k in PAD_KEYS]
    rows = [tuple(keys[i : i + 3]) for i in range(0, len(keys), 3)]
    return (*rows, (pad(word(lang, "ok"), "ok"),))


def pad_entry(entry: str, key: str) -> str:
    """The number pad's entry after one more key (``<`` takes the last one back)."""
    if key == "<":
        return entry[:-1]
    if key == "." and "." in entry:
        return entry
    return (entry + key)[:PAD_MAX]


_CHINESE_NUMERALS = set("零〇一二两三四五六七八九十百点")


@dataclass(frozen=True)
class Typed:
    """What a typed reading means: the keys to give the flow, or why there are none."""

    keys: str | None
    problem: str | None = None  # a word key: chinese_numerals | use_buttons


def typed_number(text: str) -> Typed:
    """A typed reading as keypad keys: ``36.5``, ``36,5``, ``３６．５`` → ``36*5``; ``365`` as
    keyed. Numbers written in Chinese characters are refused with a hint, not guessed at."""
    plain = unicodedata.normalize("NFKC", text).strip().replace("°", "").rstrip("Cc度 ")
    if plain and set(plain) <= _CHINESE_NUMERALS | {" "}:
        return Typed(None, "chinese_numerals")
    if not re.fullmatch(r"\d{1,3}(?:[.,。]\d{1,2})?", plain):
        return Typed(None, "use_buttons")
    keys = re.sub(r"[.,。]", "*", plain)
    return Typed(keys if len(keys) > 1 else keys + "#")


def as_keys(entry: str) -> str:
    """The number pad's entry as keypad keys (its decimal point is ``*``)."""
    keys = entry.replace(".", "*")
    return keys if len(keys) > 1 else keys + "#"
