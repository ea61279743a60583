"""A call flow as data: the steps, rules and prompts a flow file defines (see ``loader``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from callflows.catalogue import Catalogue

STEP_TYPES = (
    "say",
    "any_key",
    "number",
    "digits",
    "yes_no",
    "choice",
    "multi",
    "news",
    "transfer",
    "end",
)
ASKING_TYPES = ("any_key", "number", "digits", "yes_no", "choice", "multi")
SEVERITIES = ("urgent", "high", "normal")
OUTCOMES = ("finished", "no_response")
KEYS = frozenset("0123456789#")


class FlowError(ValueError):
    """A flow file that cannot be used; ``problems`` say what and where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Step:
    """One step. Which fields matter depends on ``type``; ``check_flow`` enforces that."""

    name: str
    type: str
    prompts: tuple[str, ...] = ()
    next: str | None = None
    answer: str | None = None
    invalid: str = "invalid_key"
    readback: str | None = None
    more: str | None = None
    skip: str | None = None
    hint: str | None = None  # number: said when only # is keyed (the caller keyed no number)
    failed: str | None = None
    target: str | None = None
    outcome: str = "finished"
    options: Mapping[str, str] = field(default_factory=dict)
    goto: Mapping[str, str] = field(default_factory=dict)
    info: Mapping[str, str] = field(default_factory=dict)
    done_key: str | None = None
    on_silence: str | None = None
    on_fail: str | None = None
    min: Decimal = Decimal(0)
    max: Decimal = Decimal(999)
    decimals: int = 0
    max_tries: int = 3
    silence_retries: int = 1
    vital: str | None = None
    min_length: int = 1  # digits: how many keys an entry may have
    max_length: int = 15
    verify: bool = False  # digits: the host must accept the entry (``Transition.verify``)

    def targets(self) -> list[str]:
        """Every step this one can move to."""
        found = [self.next, self.on_silence, self.on_fail, *self.goto.values()]
        return [t for t in found if t]

    @property
    def asks(self) -> bool:
        return self.type in ASKING_TYPES


@dataclass(frozen=True)
class EscalationRule:
    """Open an escalation ``reason`` when answer ``answer`` equals ``equals``."""

    reason: str
    answer: str
    equals: Any
    severity: str


@dataclass(frozen=True)
class Household:
    """The per-member section of a flow (``[household]``): when several residents share the
    phone, ``steps`` are asked of each member due in turn, the rest of the call once.

    ``intro`` names the members, ``first``/``following`` open each member's section (``only``
    opens it when a single member is still due: a retry, a call-back), and
    ``away_key`` (as the first key of any question in the section) skips a member who is not
    at home; ``away`` confirms it. The member's answers are tagged with their place
    (``AnswerValue.member``)."""

    steps: tuple[str, ...]
    intro: str = "household_intro"
    first: str = "member_first"
    following: str = "member_next"
    away: str = "member_away"
    only: str = "member_only"
    away_key: str = "7"

    def prompt_names(self) -> list[str]:
        return [self.intro, self.first, self.following, self.away, self.only]


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    steps: Mapping[str, Step]
    escalations: tuple[EscalationRule, ...]
    catalogue: Catalogue
    timeout_s: int = 10
    repeat_key: str = "*"
    max_turns: int = 60
    on_limit: str | None = None
    machine_prompt: str = "machine"
    source: str = "<string>"
    household: Household | None = None

    def step(self, name: str) -> Step:
        return self.steps[name]

    def prompt_names(self) -> list[str]:
        """Every prompt the flow can speak, in flow order, without repeats."""
        names: list[str] = [self.machine_prompt]
        for step in self.steps.values():
            names += list(step.prompts)
            names += [p for p in (step.readback, step.more, step.skip, step.hint, step.failed) if p]
            names += list(step.info.values())
            if step.asks:
                names.append(step.invalid)
        if self.household is not None:
            names += self.household.prompt_names()
        return list(dict.fromkeys(names))

    def answer_keys(self) -> list[str]:
        keys = [s.answer for s in self.steps.values() if s.answer]
        return list(dict.fromkeys(keys))

    def list_answer_keys(self) -> list[str]:
        """Answers that collect several values (multi-choice menus), not just one."""
        keys = [s.answer for s in self.steps.values() if s.answer and s.type == "multi"]
        return list(dict.fromkeys(keys))


def steps_in_order(flow: Flow) -> Iterable[Step]:
    """Steps as reached from the start (breadth first), then any unreachable ones."""
    seen: dict[str, None] = {}
    queue = [flow.start]
    while queue:
        name = queue.pop(0)
        if name in seen or name not in flow.steps:
            continue
        seen[name] = None
        queue += flow.steps[name].targets()
    for name in flow.steps:
        seen.setdefault(name, None)
    return [flow.steps[n] for n in seen]
