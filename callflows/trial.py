"""Keying through a flow without a phone (``pingan flow try``): the words a resident would hear.

A ``Trial`` runs the same engine as a real call. Each line of input is what is keyed at one
prompt, as the keypad would deliver it: every question takes one key first, and a number's
further keys (up to ``#``) go on to the gather that listens for the rest; other extra keys are
lost. An empty line is silence, ``hangup`` hangs up. At a transfer, the next line says
whether the duty phone answered (``answered``) or not (anything else).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from callflows.engine import advance, start
from callflows.flow import Flow
from callflows.rules import UNCONFIRMED, Thresholds, findings
from callflows.transcript import EXAMPLE_NUMBER, example_args
from callflows.types import (
    Action,
    Answered,
    Checked,
    DialEnded,
    Event,
    Gather,
    HangUp,
    Hangup,
    Keys,
    Say,
    Silence,
    Transfer,
    Transition,
)

HANG_UP_WORDS = frozenset({"hangup", "hang up", "q", "quit"})
ANSWERED_WORDS = frozenset({"answered", "answer", "yes", "y", "completed"})

Verifier = Callable[[str], bool]


class Trial:
    """One call through ``flow`` in ``lang``; feed it lines with ``key()`` until ``ended``."""

    def __init__(
        self,
        flow: Flow,
        lang: str,
        args: Mapping[str, str] | None = None,
        verify: Verifier | None = None,
        members: tuple[str, ...] = (),
    ) -> None:
        self.flow = flow
        self.members = members  # a household call: the names of the members asked
        self.lang = flow.catalogue.resolve_language(lang)
        self.args = {**example_args(self.lang), **(args or {})}
        self.verify = verify or (lambda value: True)
        self.answers: dict[str, Any] = {}
        self._last: Transition | None = None

    @property
    def ended(self) -> bool:
        return self._last is not None and self._last.ended

    @property
    def waiting_for(self) -> str:
        """What the next line means: ``keys``, ``duty phone`` (a transfer) or ``nothing``."""
        actions = self._last.actions if self._last else ()
        if self.ended:
            return "nothing"
        if any(isinstance(a, Transfer) for a in actions):
            return "duty phone"
        return "keys"

    def begin(self) -> list[str]:
        """The call is answered: what the resident hears first."""
        if not self.members:
            return self._show(start(self.flow))
        return self._show(advance(self.flow, {"members": list(self.members)}, Answered()))

    def key(self, line: str) -> list[str]:
        """Apply one line of input; returns what happens and what the resident hears."""
        if self.ended:
            return ["[the call has ended]"]
        event, rest = self._event(line)
        lines = self._show(advance(self.flow, self._last_state(), event))
        gather = self._gather()
        if rest and gather is not None and not gather.prompts and not self.ended:
            lines += self._show(advance(self.flow, self._last_state(), self._event(rest)[0]))
        return lines

    def _last_state(self) -> Mapping[str, Any] | None:
        return self._last.state if self._last else None

    def _event(self, line: str) -> tuple[Event, str]:
        """The event one line makes, and the keys typed after the gather stopped listening."""
        text = line.strip()
        if text.lower() in HANG_UP_WORDS:
            return HangUp(), ""
        if self.waiting_for == "duty phone":
            status = "completed" if text.lower() in ANSWERED_WORDS else "no-answer"
            return DialEnded(status), ""
        digits, rest = text.replace(" ", ""), ""
        gather = self._gather()
        finish = gather.finish_key if gather is not None else "#"
        if finish and finish in digits:  # the finish key ends an entry and is not sent
            digits = digits.split(finish, 1)[0]
        elif gather is not None and gather.num_digits:
            digits, rest = digits[: gather.num_digits], digits[gather.num_digits :]
        return (Keys(digits) if digits else Silence()), rest

    def _gather(self) -> Gather | None:
        actions = self._last.actions if self._last else ()
        return next((a for a in actions if isinstance(a, Gather)), None)

    def _show(self, transition: Transition) -> list[str]:
        lines: list[str] = []
        if transition.verify is not None:
            ok = self.verify(transition.verify)
            found = "found" if ok else "not found"
            lines.append(f"[the app looks up {transition.verify}: {found}]")
            after = advance(self.flow, transition.state, Checked(ok))
            transition = Transition(
                after.state, transition.actions + after.actions, after.answers, after.outcome
            )
        self._last = transition
        lines += self._stored(transition)
        for action in transition.actions:
            lines += self._action_lines(action)
        if transition.outcome is not None:
            lines.append(f"[call over: {transition.outcome.value}]")
        return lines

    def _stored(self, transition: Transition) -> list[str]:
        lines = []
        for answer in transition.answers:
            key = answer.key
            if answer.member is not None:
                key = f"{key} ({self.members[answer.member]})"
            if answer.append:
                self.answers.setdefault(key, []).append(answer.value)
            else:
                self.answers[key] = answer.value
            note = "" if answer.confirmed else f" ({UNCONFIRMED})"
            whose = "" if answer.member is None else f" for {self.members[answer.member]}"
            lines.append(f"[stored {answer.key} = {_show(answer.value)}{whose}{note}]")
        pairs = [(a.key, a.value) for a in transition.answers]
        unconfirmed = {a.key for a in transition.answers if not a.confirmed}
        for found in findings(self.flow, pairs, None, Thresholds(), unconfirmed):
            lines.append(f"[escalation: {found.reason} ({found.severity}): {found.detail}]")
        return lines

    def _action_lines(self, action: Action) -> list[str]:
        if isinstance(action, Say):
            return [self._spoken(action)]
        if isinstance(action, Gather):
            size = "one key" if action.num_digits == 1 else "the rest of the keys, then #"
            return [
                *(self._spoken(p) for p in action.prompts),
                f"[waits {action.timeout_s} s for {size}]",
            ]
        if isinstance(action, Transfer):
            return ["[connects to the duty phone: type 'answered', or Enter for no answer]"]
        if isinstance(action, Hangup):
            return ["[hangs up]"]
        return []

    def _spoken(self, say: Say) -> str:
        args = {**self.args, "temperature": EXAMPLE_NUMBER, "value": EXAMPLE_NUMBER, **say.args}
        return "» " + self.flow.catalogue.text(say.prompt, self.lang, args)


def _show(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
