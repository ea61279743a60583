"""Running a flow: ``advance(flow, state, event) -> Transition``, a pure function.

The state is a small JSON-able dict kept between webhook requests. Every event moves the call
forward or re-asks, and three counters bound every step (wrong entries, silences, total turns), so
whatever a caller keys, the call reaches an end step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from callflows.flow import Flow, Household, Step
from callflows.temperature import parse_keyed_number
from callflows.types import (
    Action,
    Answered,
    AnswerValue,
    Checked,
    DialEnded,
    Event,
    Gather,
    HangUp,
    Hangup,
    Keys,
    Outcome,
    Say,
    Silence,
    Transfer,
    Transition,
)


@dataclass(frozen=True)
class FlowState:
    step: str | None = None
    phase: str = "ask"  # ask | confirm (read-back) | more (multi-choice) | verify (host check)
    tries: int = 0
    silences: int = 0
    pending: str | None = None
    chosen: tuple[str, ...] = ()
    turns: int = 0
    outcome: str | None = None
    skipped: tuple[str, ...] = ()  # answers left unanswered (see _skip)
    keyed: str = ""  # the first key of a number or digits entry, while the rest is keyed
    # What a ``news`` step reads, put in by the host before the call starts: prompt names
    # with their arguments (a notice's text, an order's need and time), in order.
    news: tuple[NewsItem, ...] = ()
    # A household call (see ``Household``): the names of the members due, in order; whose
    # section is being asked (``len(members)`` once nobody is left); whose sections were
    # answered to their end; who was skipped as not at home.
    members: tuple[str, ...] = ()
    member: int = 0
    done: tuple[int, ...] = ()
    away: tuple[int, ...] = ()

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> FlowState:
        if not raw:
            return cls()
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        for name in _LISTS:
            known[name] = tuple(known.get(name, ()))
        known["news"] = tuple(NewsItem.load(item) for item in known.get("news", ()))
        return cls(**known)

    def dump(self) -> dict[str, Any]:
        data = asdict(self)
        for name in _LISTS:
            data[name] = list(data[name])
        data["news"] = [item.dump() for item in self.news]
        return data


@dataclass(frozen=True)
class NewsItem:
    """One piece of news: a catalogue prompt and the values of its placeholders."""

    prompt: str
    args: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> NewsItem:
        args = raw.get("args") or {}
        return cls(str(raw.get("prompt", "")), {str(k): str(v) for k, v in args.items()})

    def dump(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "args": dict(self.args)}

    def say(self) -> Say:
        return Say(self.prompt, dict(self.args))


_LISTS = ("chosen", "skipped", "members", "done", "away")
AWAY_ANSWER = "not_at_home"  # stored for a household member skipped with the away key


@dataclass
class _Out:
    """What one event produces, built up while the step logic runs."""

    actions: list[Action] = field(default_factory=list)
    answers: list[AnswerValue] = field(default_factory=list)


def start(flow: Flow) -> Transition:
    """The first instructions of an answered call."""
    return advance(flow, None, Answered())


def advance(flow: Flow, raw_state: Mapping[str, Any] | None, event: Event) -> Transition:
    state = FlowState.load(raw_state)
    transition = _advance(flow, state, event)
    if transition.answers and _in_section(flow, state):
        tagged = tuple(replace(a, member=state.member) for a in transition.answers)
        transition = replace(transition, answers=tagged)
    return transition


def _advance(flow: Flow, state: FlowState, event: Event) -> Transition:
    out = _Out()
    if state.outcome:
        return _finish(state, [Hangup()], out)
    if isinstance(event, HangUp):
        _keep_on_hang_up(flow, state, out)
        return _finish(replace(state, outcome=_hang_up_outcome(flow, state).value), [], out)
    if isinstance(event, Answered):
        if event.machine:
            return _finish(
                replace(state, outcome=Outcome.MACHINE.value),
                [Say(flow.machine_prompt), Hangup()],
                out,
            )
        if state.step is None:
            return _transition(flow, _enter(flow, flow.start, state, out), out)
        return _transition(flow, _ask(flow, state, out), out)
    current = state.step
    if current is None or current not in flow.steps:
        return _transition(flow, _enter(flow, flow.start, state, out), out)
    state = replace(state, turns=state.turns + 1)
    if state.turns > flow.max_turns * max(1, len(state.members)) and flow.on_limit:
        state = replace(state, member=len(state.members))  # the limit ends the call for all
        return _transition(flow, _enter(flow, flow.on_limit, state, out), out)
    step = flow.step(current)
    return _transition(flow, _handle(flow, step, state, event, out), out)


def _handle(flow: Flow, step: Step, state: FlowState, event: Event, out: _Out) -> FlowState:
    if step.type == "transfer":
        return _dial_ended(flow, step, state, event, out)
    if isinstance(event, Checked):
        return _checked(flow, step, state, event, out)
    if state.phase == "verify":  # the host must answer a verify request first: ask again
        return _ask(flow, replace(state, phase="ask", pending=None), out)
    if isinstance(event, DialEnded):  # a late transfer result: nothing to act on, ask again
        return _ask(flow, state, out)
    if _is_away(flow, state, event):
        return _away(flow, state, out)
    if state.keyed:  # the rest of an entry whose first key came alone
        rest = event.digits if isinstance(event, Keys) else ""
        event, state = Keys(state.keyed + rest), replace(state, keyed="")
    elif isinstance(event, Keys) and _begins_entry(step, state, event.digits):
        return _ask(flow, replace(state, keyed=event.digits), out)
    if isinstance(event, Silence):
        return _silence(flow, step, state, out)
    assert isinstance(event, Keys)
    if _wants_repeat(flow, step, event.digits):
        return _ask(flow, state, out)
    handler = _KEY_HANDLERS[step.type]
    return handler(flow, step, state, event.digits, out)


def _begins_entry(step: Step, state: FlowState, digits: str) -> bool:
    """The first key of a longer entry: it came alone (every question first gathers one key,
    so that ``*`` repeats at once) and the rest is keyed in a second gather."""
    free_length = step.type in ("number", "digits") and state.phase == "ask"
    return free_length and len(digits) == 1 and digits.isascii() and digits.isdigit()


def _wants_repeat(flow: Flow, step: Step, digits: str) -> bool:
    """``*`` repeats the question; in a number with decimals, one between digits is the
    decimal point (``36*5`` is 36.5), as people who know calculators key it."""
    key = flow.repeat_key
    if step.type == "number" and step.decimals:
        return digits.startswith(key) or digits.endswith(key)
    return key in digits


def _hang_up_outcome(flow: Flow, state: FlowState) -> Outcome:
    """Hanging up during the news, after every question, ends a finished call."""
    step = flow.steps.get(state.step or "")
    return Outcome.FINISHED if step is not None and step.type == "news" else Outcome.HUNG_UP


def _keep_on_hang_up(flow: Flow, state: FlowState, out: _Out) -> None:
    """What the caller keyed before hanging up and no later turn would store: a value awaiting
    its read-back (unconfirmed), and a transfer to staff they asked for but never heard end."""
    step = flow.steps.get(state.step or "")
    if step is None:
        return
    if state.phase == "confirm" and state.pending is not None:
        out.answers.append(AnswerValue(step.answer or step.name, state.pending, confirmed=False))
    elif step.type == "transfer":
        out.answers.append(AnswerValue(step.answer or "callback_requested", True))


def _transition(flow: Flow, state: FlowState, out: _Out) -> Transition:
    outcome = Outcome(state.outcome) if state.outcome else None
    verify = state.pending if state.phase == "verify" else None
    return Transition(state.dump(), tuple(out.actions), tuple(out.answers), outcome, verify)


def _finish(state: FlowState, actions: list[Action], out: _Out) -> Transition:
    outcome = Outcome(state.outcome) if state.outcome else None
    return Transition(state.dump(), tuple(actions), tuple(out.answers), outcome)


# --- entering steps and asking --------------------------------------------------------------


def _enter(
    flow: Flow, name: str, state: FlowState, out: _Out, lead: tuple[Say, ...] = ()
) -> FlowState:
    """Move to step ``name`` and emit what it says; ``say`` steps chain to the next one."""
    for _ in range(len(flow.steps) + 1):
        name, state, opening = _section_turn(flow, name, state)
        lead += opening
        step = flow.step(name)
        state = replace(
            state, step=name, phase="ask", tries=0, silences=0, pending=None, chosen=(), keyed=""
        )
        if step.type != "say" and not step.asks:
            out.actions += lead
        if step.type == "say":
            out.actions += [*lead, *(Say(p) for p in step.prompts)]
            lead = ()
            name = step.next or ""
            continue
        if step.type == "news" and not state.news:  # nothing to tell: the call goes on
            name = step.next or ""
            continue
        if step.type == "transfer":
            out.actions += [*(Say(p) for p in step.prompts), Transfer(step.target or "")]
        elif step.type == "end":
            out.actions += [*(Say(p) for p in step.prompts), Hangup()]
            state = replace(state, outcome=step.outcome)
        else:
            return _ask(flow, state, out, lead)
        return state
    raise ValueError(f"flow {flow.name}: 'say' steps loop without an end")


def _phase_prompts(step: Step, state: FlowState) -> tuple[Say, ...]:
    if state.phase == "confirm" and step.readback:
        return (
            Say(step.readback, {"temperature": state.pending or "", "value": state.pending or ""}),
        )
    if state.phase == "more" and step.more:
        return (Say(step.more),)
    if step.type == "news":
        return (*(item.say() for item in state.news), *(Say(p) for p in step.prompts))
    return tuple(Say(p) for p in step.prompts)


def _ask(flow: Flow, state: FlowState, out: _Out, lead: tuple[Say, ...] = ()) -> FlowState:
    """One key first, ``#`` and ``*`` included, so that any key answers an "any key" question
    and ``*`` repeats at once (the carrier submits a gather only on its finish key, its
    digit count or a timeout). After the first key of a number, a silent gather takes the
    rest up to ``#``."""
    if state.keyed:
        out.actions.append(Gather(lead, None, flow.timeout_s, finish_key="#"))
        return state
    step = flow.step(state.step or flow.start)
    out.actions.append(Gather(lead + _phase_prompts(step, state), 1, flow.timeout_s))
    return state


def _move_on(flow: Flow, step: Step, state: FlowState, out: _Out, target: str | None) -> FlowState:
    return _enter(flow, target or step.next or flow.on_limit or flow.start, state, out)


# --- households: the per-member section, asked of each member in turn -----------------------


def _household(flow: Flow, state: FlowState) -> Household | None:
    """The flow's per-member section, when this call asks members of a household by name
    (several, or the one still due on a retry or call-back)."""
    return flow.household if state.members else None


def _in_section(flow: Flow, state: FlowState) -> bool:
    household = _household(flow, state)
    if household is None or state.member >= len(state.members):
        return False
    return (state.step or "") in household.steps


def _section_turn(
    flow: Flow, name: str, state: FlowState
) -> tuple[str, FlowState, tuple[Say, ...]]:
    """Where entering ``name`` really leads on a household call: into the first member's
    section (naming everyone), or on leaving a member's section, into the next member's."""
    household = _household(flow, state)
    if household is None or state.member >= len(state.members):
        return name, state, ()
    inside = (state.step or "") in household.steps
    if not inside and name in household.steps:
        return name, state, _opening(household, state)
    if inside and name not in household.steps:
        return _next_member(household, replace(state, done=(*state.done, state.member)), name)
    return name, state, ()


def _opening(household: Household, state: FlowState) -> tuple[Say, ...]:
    if len(state.members) == 1:  # the others were asked already: say whose check-in it is
        return (Say(household.only, _member(state)),)
    names = {"count": str(len(state.members)), "names": "、".join(state.members)}
    return (Say(household.intro, names), Say(household.first, _member(state)))


def _next_member(
    household: Household, state: FlowState, after: str
) -> tuple[str, FlowState, tuple[Say, ...]]:
    following = state.member + 1
    if following < len(state.members):
        state = replace(state, member=following)
        return household.steps[0], state, (Say(household.following, _member(state)),)
    return after, replace(state, member=len(state.members)), ()


def _member(state: FlowState) -> dict[str, str]:
    return {"name": state.members[state.member]}


def _is_away(flow: Flow, state: FlowState, event: Event) -> bool:
    """The away key as the first key of any question of a member's section."""
    household = _household(flow, state)
    if household is None or not _in_section(flow, state) or state.keyed:
        return False
    return isinstance(event, Keys) and event.digits == household.away_key


def _away(flow: Flow, state: FlowState, out: _Out) -> FlowState:
    """This member is not at home: nothing more is asked of them in this call (the host
    calls them again), and the call goes on with the next member."""
    household = flow.household
    assert household is not None
    out.answers.append(AnswerValue(AWAY_ANSWER, True))
    out.actions.append(Say(household.away, _member(state)))
    state = replace(state, away=(*state.away, state.member))
    after = flow.step(household.steps[-1]).next or flow.on_limit or flow.start
    target, state, lead = _next_member(household, state, after)
    return _enter(flow, target, state, out, lead)


# --- the caller keyed nothing or something wrong ---------------------------------------------


def _silence(flow: Flow, step: Step, state: FlowState, out: _Out) -> FlowState:
    if step.type == "news":  # listened to the end: reading it again unasked would be a loop
        return _move_on(flow, step, state, out, None)
    state = replace(state, silences=state.silences + 1)
    if state.silences <= step.silence_retries:
        return _ask(flow, state, out)
    if state.phase == "confirm" and state.pending is not None:
        # A valid temperature was keyed; keeping it beats losing it to a missed read-back.
        return _store_pending(flow, step, state, out, confirmed=False)
    return _move_on(flow, step, _skip(flow, step, state), out, step.on_silence)


def _invalid(
    flow: Flow, step: Step, state: FlowState, out: _Out, why: str | None = None
) -> FlowState:
    """A wrong entry; ``why`` names a prompt that says more than the step's ``invalid``."""
    state = replace(state, tries=state.tries + 1)
    if state.tries < step.max_tries:
        return _ask(flow, state, out, lead=(Say(why or step.invalid),))
    if state.phase == "confirm" and state.pending is not None:
        return _store_pending(flow, step, state, out, confirmed=False)
    if step.skip:
        out.actions.append(Say(step.skip))
    return _move_on(flow, step, _skip(flow, step, state), out, step.on_fail)


def _skip(flow: Flow, step: Step, state: FlowState) -> FlowState:
    """Note a question left without an answer, so the host can tell a call that reached its
    end from one that answered everything (``FlowState.skipped``). A household member's
    after the first is noted as ``answer@place`` (see ``skipped_by``)."""
    if not step.answer or state.chosen:
        return state
    entry = step.answer
    if _in_section(flow, state) and state.member:
        entry = f"{entry}@{state.member}"
    if entry in state.skipped:
        return state
    return replace(state, skipped=(*state.skipped, entry))


def skipped_by(state: Mapping[str, Any] | None, member: int) -> list[str]:
    """The answers a household member (by place) left unanswered; 0 has the call's own."""
    entries = [str(e) for e in (state or {}).get("skipped") or []]
    if not member:
        return [e for e in entries if "@" not in e]
    suffix = f"@{member}"
    return [e.removesuffix(suffix) for e in entries if e.endswith(suffix)]


# --- per step type ----------------------------------------------------------------------------


def _news(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    """Any key but ``*`` (which reads it all again) goes on."""
    return _move_on(flow, step, state, out, None)


def _any_key(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    if digits in step.info:
        return _ask(flow, replace(state, silences=0), out, lead=(Say(step.info[digits]),))
    return _move_on(flow, step, state, out, None)


def _number(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    if state.phase == "confirm":
        if digits == "1":
            return _store_pending(flow, step, state, out)
        if digits == "2":
            return _ask(flow, replace(state, phase="ask", pending=None, silences=0), out)
        return _invalid(flow, step, state, out)
    value = parse_keyed_number(digits, step.decimals, step.min, step.max)
    if value is None:
        hint = step.hint if digits == "#" else None  # '#' alone: no number was keyed at all
        return _invalid(flow, step, state, out, hint)
    if not step.readback:
        out.answers.append(AnswerValue(step.answer or step.name, str(value)))
        return _move_on(flow, step, state, out, None)
    return _ask(flow, replace(state, phase="confirm", pending=str(value), silences=0), out)


def _store_pending(
    flow: Flow, step: Step, state: FlowState, out: _Out, *, confirmed: bool = True
) -> FlowState:
    out.answers.append(AnswerValue(step.answer or step.name, state.pending, confirmed=confirmed))
    return _move_on(flow, step, state, out, None)


def _digits(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    if not (digits.isascii() and digits.isdigit()):
        return _invalid(flow, step, state, out)
    if not step.min_length <= len(digits) <= step.max_length:
        return _invalid(flow, step, state, out)
    if step.verify:  # no actions yet: the host looks the entry up and answers with Checked
        return replace(state, phase="verify", pending=digits)
    out.answers.append(AnswerValue(step.answer or step.name, digits))
    return _move_on(flow, step, state, out, None)


def _checked(flow: Flow, step: Step, state: FlowState, event: Checked, out: _Out) -> FlowState:
    if state.phase != "verify" or state.pending is None:  # nothing was waiting for a verdict
        return _ask(flow, state, out)
    if event.ok:
        return _store_pending(flow, step, state, out)
    return _invalid(flow, step, replace(state, phase="ask", pending=None), out)


def _yes_no(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    if digits not in ("1", "2"):
        return _invalid(flow, step, state, out)
    out.answers.append(AnswerValue(step.answer or step.name, digits == "1"))
    return _move_on(flow, step, state, out, None)


def _choice(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    if digits in step.options:
        out.answers.append(AnswerValue(step.answer or step.name, step.options[digits]))
        return _move_on(flow, step, state, out, step.goto.get(digits))
    if digits in step.goto:
        return _move_on(flow, step, state, out, step.goto[digits])
    return _invalid(flow, step, state, out)


def _multi(flow: Flow, step: Step, state: FlowState, digits: str, out: _Out) -> FlowState:
    if digits in step.options:
        value = step.options[digits]
        if value not in state.chosen:
            out.answers.append(AnswerValue(step.answer or step.name, value, append=True))
        state = replace(state, phase="more", chosen=(*state.chosen, value), tries=0, silences=0)
        return _ask(flow, state, out)
    if digits == step.done_key:
        return _move_on(flow, step, state, out, None)
    if digits in step.goto:
        return _move_on(flow, step, state, out, step.goto[digits])
    return _invalid(flow, step, state, out)


def _dial_ended(flow: Flow, step: Step, state: FlowState, event: Event, out: _Out) -> FlowState:
    if isinstance(event, DialEnded) and event.status == "completed":
        return _move_on(flow, step, state, out, None)
    if isinstance(event, DialEnded):
        if step.failed:
            out.actions.append(Say(step.failed))
        out.answers.append(AnswerValue(step.answer or "callback_requested", True))
    return _move_on(flow, step, state, out, None)


_KEY_HANDLERS = {
    "any_key": _any_key,
    "number": _number,
    "digits": _digits,
    "yes_no": _yes_no,
    "choice": _choice,
    "multi": _multi,
    "news": _news,
}
