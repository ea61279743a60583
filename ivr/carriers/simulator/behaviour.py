"""What one simulated resident (or their phone) does on one call.

A ``Behaviour`` is a value, so a test or a demo can script a whole neighbourhood of residents in
a few lines of text: ``Behaviour.parse("answer 1 365# 1 2 9")`` is a person who picks up, presses
1, keys 36.5 followed by #, then 1, 2 and 9. The compact text form round-trips through ``str()``
so a recorded call can say exactly which script produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

OUTCOMES = frozenset({"answer", "machine", "busy", "no-answer", "failed", "canceled"})
DIAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
AMD_RESULTS = frozenset(
    {
        "human",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)
FAULTS = frozenset({"duplicate_status", "reorder_status", "drop_status", "drop_completed"})

SILENCE = "-"
HANG_UP = "hangup"
REJECT_PREFIX = "reject:"
DEFAULT_DIAL_DURATION_S = 60

_KEY_ENTRY = re.compile(r"[0-9*#]+")
_REJECT = re.compile(r"reject:([1-9][0-9]{2,5})")
_OPTIONS = ("dial", "answered_by", "faults", "think")


@dataclass(frozen=True)
class Behaviour:
    """One scripted call: who (or what) answers and which keys they press.

    ``keys`` holds one entry per ``<Gather>`` the person meets, in order: a key string such as
    ``"1"`` or ``"365#"``, ``"-"`` to stay silent until the gather times out, or ``"hangup"``.
    When the entries run out the person hangs up at the next gather.

    A number the call ``<Dial>``s that has a script of its own (a staff phone) is rung as a
    child leg and behaves as scripted: ``"answer 1"`` picks up and presses 1 on the
    ``<Number url>`` screen, ``"machine"`` is a voicemail that only listens, ``"no-answer"``
    rings out. Otherwise ``dial`` decides: ``completed`` is someone who takes the call.
    """

    outcome: str = "answer"
    keys: tuple[str, ...] = ()
    dial: str = "no-answer"
    dial_duration_s: int = DEFAULT_DIAL_DURATION_S
    answered_by: str | None = None
    faults: frozenset[str] = field(default_factory=frozenset)
    # Real seconds spent at each gather before keying: simulated time costs nothing, so a load
    # test uses this to keep hundreds of calls open at once, as real (slow) callers would.
    think_s: float = 0.0

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES and not _REJECT.fullmatch(self.outcome):
            raise ValueError(
                f"unknown outcome {self.outcome!r}; use one of {', '.join(sorted(OUTCOMES))} "
                "or reject:<Twilio error code or HTTP status>, e.g. reject:21211"
            )
        if self.keys and self.outcome != "answer":
            raise ValueError(f"only a person who answers presses keys, not {self.outcome!r}")
        for entry in self.keys:
            _check_key_entry(entry)
        if self.dial not in DIAL_STATUSES:
            raise ValueError(
                f"unknown dial outcome {self.dial!r}; use one of {', '.join(sorted(DIAL_STATUSES))}"
            )
        if self.dial_duration_s < 0:
            raise ValueError("dial duration cannot be negative")
        if not 0 <= self.think_s <= 600:
            raise ValueError("think time must be between 0 and 600 seconds")
        if self.answered_by is not None and self.answered_by not in AMD_RESULTS:
            raise ValueError(
                f"unknown answered_by {self.answered_by!r}; use one of "
                f"{', '.join(sorted(AMD_RESULTS))}"
            )
        unknown = self.faults - FAULTS
        if unknown:
            raise ValueError(
                f"unknown fault(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(FAULTS))}"
            )

    @property
    def reject_code(self) -> int | None:
        """The REST error the carrier answers the create request with, if this is a refusal."""
        match = _REJECT.fullmatch(self.outcome)
        return int(match.group(1)) if match else None

    @property
    def answers(self) -> bool:
        """Whether the line is picked up (by a person or by voicemail)."""
        return self.outcome in ("answer", "machine")

    def amd_result(self, mode: str) -> str:
        """What answering-machine detection reports; ``mode`` is Twilio's MachineDetection."""
        if self.answered_by is not None:
            return self.answered_by
        if self.outcome != "machine":
            return "human"
        return "machine_end_beep" if mode == "DetectMessageEnd" else "machine_start"

    @classmethod
    def parse(cls, spec: str) -> Behaviour:
        """Read the compact text form, e.g. ``"answer 1 999# 375# 1 2 0 dial=no-answer"``."""
        words = spec.split()
        if not words:
            raise ValueError("empty behaviour; start with an outcome such as 'answer' or 'busy'")
        outcome, *rest = words
        keys: list[str] = []
        options: dict[str, str] = {}
        for word in rest:
            name, sep, value = word.partition("=")
            if not sep:
                keys.append(word)
            elif name in _OPTIONS:
                options[name] = value
            else:
                raise ValueError(
                    f"unknown option {name!r} in {spec!r}; "
                    f"options are {', '.join(f'{o}=…' for o in _OPTIONS)}"
                )
        return cls(outcome=outcome, keys=tuple(keys), **_parse_options(options))

    def __str__(self) -> str:
        words = [self.outcome, *self.keys]
        if self.dial != "no-answer" or self.dial_duration_s != DEFAULT_DIAL_DURATION_S:
            duration = self.dial_duration_s
            words.append(
                f"dial={self.dial}"
                if duration == DEFAULT_DIAL_DURATION_S
                else f"dial={self.dial}:{duration}"
            )
        if self.answered_by is not None:
            words.append(f"answered_by={self.answered_by}")
        if self.faults:
            words.append("faults=" + ",".join(sorted(self.faults)))
        if self.think_s:
            words.append(f"think={self.think_s:g}")
        return " ".join(words)


def _check_key_entry(entry: str) -> None:
    if entry in (SILENCE, HANG_UP) or _KEY_ENTRY.fullmatch(entry):
        return
    raise ValueError(
        f"{entry!r} is not a key entry: use keypad keys (0-9, * and #), "
        f"'{SILENCE}' for silence, '{HANG_UP}', or an option such as dial=completed"
    )


class _Options(TypedDict, total=False):
    dial: str
    dial_duration_s: int
    answered_by: str
    faults: frozenset[str]
    think_s: float


def _parse_options(options: dict[str, str]) -> _Options:
    """Turn ``dial=completed:90``-style options into constructor arguments."""
    parsed: _Options = {}
    if "dial" in options:
        status, _, seconds = options["dial"].partition(":")
        parsed["dial"] = status
        if seconds:
            if not seconds.isdigit():
                raise ValueError(f"dial duration {seconds!r} is not a whole number of seconds")
            parsed["dial_duration_s"] = int(seconds)
    if "answered_by" in options:
        parsed["answered_by"] = options["answered_by"]
    if "faults" in options:
        parsed["faults"] = frozenset(f for f in options["faults"].split(",") if f)
    if "think" in options:
        try:
            parsed["think_s"] = float(options["think"])
        except ValueError:
            raise ValueError(
                f"think time {options['think']!r} is not a number of seconds"
            ) from None
    return parsed
