"""The vocabulary shared by every call flow: what the caller does, what the call does next.

Everything here is an immutable value so that a flow run can be replayed, compared in tests and
stored as JSON between webhook requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# --- events: what happened on the line since the last instruction ---------------------------


@dataclass(frozen=True)
class Answered:
    """The call was picked up; ``machine`` when the carrier detected voicemail or a fax."""

    machine: bool = False


@dataclass(frozen=True)
class Keys:
    """The caller keyed ``digits`` (without the finishing ``#``)."""

    digits: str


@dataclass(frozen=True)
class Silence:
    """The gather timed out with nothing keyed."""


@dataclass(frozen=True)
class DialEnded:
    """A transfer to staff ended; ``status`` is Twilio's ``DialCallStatus``."""

    status: str


@dataclass(frozen=True)
class HangUp:
    """The caller hung up (reported by the final status callback)."""


@dataclass(frozen=True)
class Checked:
    """The host's verdict on a keyed value a ``verify`` step asked it to check (see
    ``Transition.verify``): ``ok`` when it is known, e.g. a registered phone number."""

    ok: bool


Event = Answered | Keys | Silence | DialEnded | HangUp | Checked

# --- actions: what the call does next -------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Speak one catalogue prompt; ``args`` fill its placeholders (e.g. a temperature)."""

    prompt: str
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Gather:
    """Ask for keys while speaking ``prompts``; a key press interrupts the speech.

    ``finish_key`` ends a longer entry (and is not part of it); empty, every key is a key,
    ``#`` too. Every question first gathers one key, so ``*`` repeats it at once; a number
    then continues in a second, silent gather up to ``#`` (see ``callflows.engine``)."""

    prompts: tuple[Say, ...]
    num_digits: int | None = 1
    timeout_s: int = 10
    finish_key: str = ""


@dataclass(frozen=True)
class Transfer:
    """Connect the caller to a phone named by ``target`` (e.g. the community duty phone)."""

    target: str
    timeout_s: int = 30


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Action = Say | Gather | Transfer | Hangup


class Outcome(StrEnum):
    """How a finished call went, as far as the flow can tell."""

    FINISHED = "finished"  # reached an end step
    NO_RESPONSE = "no_response"  # answered, but nobody keyed anything useful
    MACHINE = "machine"  # voicemail or fax answered
    HUNG_UP = "hung_up"  # caller hung up before the end


@dataclass(frozen=True)
class AnswerValue:
    """One answer to store the moment it is keyed. ``append`` adds to a list answer.

    ``confirmed`` is false for a value keyed but never confirmed at its read-back (the caller
    hung up, stayed silent or kept pressing wrong keys there): kept, and shown as unconfirmed,
    because a fever keyed and then lost is worse than one staff must double-check.

    ``member`` is the place of the household member the answer belongs to, for answers given
    in a flow's per-member section on a household call; None for the call's own answers."""

    key: str
    value: Any
    append: bool = False
    confirmed: bool = True
    member: int | None = None


@dataclass(frozen=True)
class Transition:
    """The result of one ``advance``: new state, what to do, what to store.

    When ``verify`` is set the flow waits for the host to look that keyed value up (the engine
    cannot: it does no I/O); the host answers at once with ``Checked``, in the same request.
    """

    state: Mapping[str, Any]
    actions: tuple[Action, ...]
    answers: tuple[AnswerValue, ...] = ()
    outcome: Outcome | None = None
    verify: str | None = None

    @property
    def ended(self) -> bool:
        return self.outcome is not None
