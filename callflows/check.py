"""What ``pingan flow check`` reports: every way a flow file could strand or confuse a caller."""

from __future__ import annotations

from collections.abc import Callable

from callflows.flow import KEYS, SEVERITIES, STEP_TYPES, Flow, Problem, Step

LineOf = Callable[[str, str | None], int | None]

TRANSFER_TARGETS = ("duty_phone",)
# What the database can hold (tests pin these to the storage columns): a longer name passed
# the check but failed the call's write on PostgreSQL, mid-call.
MAX_STEP_NAME = 64  # call_event.name
MAX_ANSWER_KEY = 64  # answer.key
MAX_REASON = 32  # escalation.reason
MAX_NEED = 32  # service_order.need, from the options of the "needs" answer
_REQUIRED: dict[str, tuple[str, ...]] = {
    "say": ("prompts", "next"),
    "any_key": ("prompts", "next"),
    "number": ("answer", "prompts", "next"),
    "digits": ("answer", "prompts", "next"),
    "yes_no": ("answer", "prompts", "next"),
    "choice": ("answer", "prompts", "options", "next"),
    "multi": ("answer", "prompts", "options", "done_key", "next"),
    "news": ("prompts", "next"),
    "transfer": ("target", "prompts", "next"),
    "end": ("prompts",),
}


def check(flow: Flow, line_of: LineOf) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_flow_table(flow, line_of)
    for step in flow.steps.values():
        problems += _check_step(flow, step, line_of)
    problems += _check_prompts(flow, line_of)
    problems += _check_graph(flow, line_of)
    problems += _check_rules(flow, line_of)
    problems += _check_lengths(flow, line_of)
    problems += _check_household(flow, line_of)
    return problems


def _problem(line: int | None, message: str) -> Problem:
    return Problem(line, message)


def _check_flow_table(flow: Flow, line_of: LineOf) -> list[Problem]:
    out = []
    if flow.start not in flow.steps:
        out.append(
            _problem(
                line_of("flow", "start"), f"start step '{flow.start}' is not defined under [steps]"
            )
        )
    if not any(s.type == "end" for s in flow.steps.values()):
        out.append(_problem(None, "the flow has no step of type 'end', so no call can finish"))
    if flow.on_limit and flow.steps.get(flow.on_limit, None) is None:
        out.append(
            _problem(line_of("flow", "on_limit"), f"on_limit step '{flow.on_limit}' is not defined")
        )
    if flow.timeout_s < 3:
        out.append(_problem(line_of("flow", "timeout_s"), "timeout_s must be at least 3 seconds"))
    return out


def _check_step(flow: Flow, step: Step, line_of: LineOf) -> list[Problem]:
    where = line_of(f"steps.{step.name}", None)
    if step.type not in STEP_TYPES:
        return [
            _problem(
                line_of(f"steps.{step.name}", "type") or where,
                f"step '{step.name}': unknown step type '{step.type}' "
                f"(use one of {', '.join(STEP_TYPES)})",
            )
        ]
    out = [
        _problem(where, f"step '{step.name}' ({step.type}) needs '{name}'")
        for name in _REQUIRED[step.type]
        if not getattr(step, name)
    ]
    for attr in ("next", "on_silence", "on_fail"):
        target = getattr(step, attr)
        if target and target not in flow.steps:
            out.append(
                _problem(
                    line_of(f"steps.{step.name}", attr),
                    f"step '{step.name}': {attr} goes to unknown step '{target}'",
                )
            )
    for key, target in step.goto.items():
        if target not in flow.steps:
            out.append(
                _problem(
                    line_of(f"steps.{step.name}", "goto"),
                    f"step '{step.name}': key {key} goes to unknown step '{target}'",
                )
            )
    out += _check_keys(flow, step, line_of)
    if step.type == "number" and not step.min < step.max:
        out.append(
            _problem(
                line_of(f"steps.{step.name}", "max"), f"step '{step.name}': min must be below max"
            )
        )
    if step.verify and step.type != "digits":
        out.append(
            _problem(
                line_of(f"steps.{step.name}", "verify") or where,
                f"step '{step.name}': verify only applies to a digits step",
            )
        )
    if step.type == "digits" and not 1 <= step.min_length <= step.max_length:
        out.append(
            _problem(
                line_of(f"steps.{step.name}", "max_length") or where,
                f"step '{step.name}': min_length must be at least 1 and not above max_length",
            )
        )
    if step.type == "transfer" and step.target and step.target not in TRANSFER_TARGETS:
        out.append(
            _problem(
                line_of(f"steps.{step.name}", "target"),
                f"step '{step.name}': unknown transfer target '{step.target}'",
            )
        )
    return out


def _check_keys(flow: Flow, step: Step, line_of: LineOf) -> list[Problem]:
    keys = [*step.options, *step.goto, *step.info, *([step.done_key] if step.done_key else [])]
    out = []
    for key in keys:
        if key not in KEYS or key == flow.repeat_key:
            out.append(
                _problem(
                    line_of(f"steps.{step.name}", None),
                    f"step '{step.name}': '{key}' is not a key a caller can use "
                    f"for a choice (use 0-9; {flow.repeat_key} repeats)",
                )
            )
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        out.append(
            _problem(
                line_of(f"steps.{step.name}", None),
                f"step '{step.name}': key {', '.join(duplicates)} has two meanings",
            )
        )
    return out


def _check_prompts(flow: Flow, line_of: LineOf) -> list[Problem]:
    out = []
    for name in flow.prompt_names():
        for lang in flow.catalogue.languages:
            if not flow.catalogue.has(name, lang):
                out.append(
                    _problem(
                        _prompt_line(flow, name, line_of),
                        f"prompt '{name}' has no text in language '{lang}'",
                    )
                )
    return out


def _prompt_line(flow: Flow, name: str, line_of: LineOf) -> int | None:
    for step in flow.steps.values():
        used = (
            *step.prompts,
            step.readback,
            step.more,
            step.skip,
            step.hint,
            step.failed,
            step.invalid,
            *step.info.values(),
        )
        if name in used:
            return line_of(f"steps.{step.name}", None)
    return None


def _check_graph(flow: Flow, line_of: LineOf) -> list[Problem]:
    if flow.start not in flow.steps:
        return []
    reachable: set[str] = set()
    stack = [flow.start]
    while stack:
        name = stack.pop()
        if name in reachable or name not in flow.steps:
            continue
        reachable.add(name)
        stack += flow.steps[name].targets()
    finishing = {n for n, s in flow.steps.items() if s.type == "end"}
    changed = True
    while changed:
        changed = False
        for name, step in flow.steps.items():
            if name not in finishing and any(t in finishing for t in step.targets()):
                finishing.add(name)
                changed = True
    out = [
        _problem(
            line_of(f"steps.{name}", None),
            f"step '{name}' can never be reached from the start step '{flow.start}'",
        )
        for name in flow.steps
        if name not in reachable
    ]
    out += [
        _problem(
            line_of(f"steps.{name}", None),
            f"step '{name}' is in a loop with no way out to an 'end' step",
        )
        for name in flow.steps
        if name in reachable and name not in finishing
    ]
    return out


def _check_rules(flow: Flow, line_of: LineOf) -> list[Problem]:
    answers = set(flow.answer_keys())
    out = []
    for index, rule in enumerate(flow.escalations):
        if rule.answer not in answers:
            out.append(
                _problem(
                    _rule_line(line_of, index),
                    f"escalation '{rule.reason}': no step stores answer '{rule.answer}'",
                )
            )
        if rule.severity not in SEVERITIES:
            out.append(
                _problem(
                    _rule_line(line_of, index),
                    f"escalation '{rule.reason}': severity must be one of {', '.join(SEVERITIES)}",
                )
            )
    return out


def _check_lengths(flow: Flow, line_of: LineOf) -> list[Problem]:
    out = []

    def too_long(line: int | None, what: str, value: str, limit: int) -> None:
        if len(value) > limit:
            out.append(_problem(line, f"{what} '{value}' is longer than {limit} characters"))

    for step in flow.steps.values():
        where = line_of(f"steps.{step.name}", None)
        too_long(where, "step name", step.name, MAX_STEP_NAME)
        if step.answer:
            line = line_of(f"steps.{step.name}", "answer") or where
            too_long(line, "answer", step.answer, MAX_ANSWER_KEY)
        if step.answer == "needs":
            line = line_of(f"steps.{step.name}", "options") or where
            for need in step.options.values():
                too_long(line, "need", need, MAX_NEED)
    for index, rule in enumerate(flow.escalations):
        too_long(_rule_line(line_of, index), "escalation reason", rule.reason, MAX_REASON)
    return out


def _rule_line(line_of: LineOf, index: int) -> int | None:
    return line_of(f"escalations#{index}", None)


def _check_household(flow: Flow, line_of: LineOf) -> list[Problem]:
    """The per-member section: real asking steps, and an away key no question in it uses."""
    household = flow.household
    if household is None:
        return []
    out = []
    for name in household.steps:
        step = flow.steps.get(name)
        if step is None or not step.asks:
            out.append(
                _problem(
                    line_of("household", "steps"),
                    f"[household] step '{name}' is not an asking step of this flow",
                )
            )
    key = household.away_key
    clashes = [
        name for name in household.steps if name in flow.steps and key in _keys_of(flow.step(name))
    ]
    if key not in KEYS or key in ("#", flow.repeat_key) or len(key) != 1:
        out.append(
            _problem(
                line_of("household", "away_key"),
                f"[household] away_key '{key}' must be one of the keys 0-9",
            )
        )
    elif clashes:
        out.append(
            _problem(
                line_of("household", "away_key"),
                f"[household] away_key '{key}' already answers step "
                f"{', '.join(repr(c) for c in clashes)}",
            )
        )
    return out


def _keys_of(step: Step) -> set[str]:
    """The single keys that mean something as the first key of this step's question."""
    keys = {*step.options, *step.goto, *step.info, *([step.done_key] if step.done_key else [])}
    if step.type in ("yes_no",) or step.readback:
        keys |= {"1", "2"}
    if step.type == "digits":
        keys |= set("0123456789")
    if step.type == "number":
        low, high = int(step.min), int(step.max)
        keys |= {str(n)[0] for n in range(max(low, 0), min(high, 10**6) + 1)}
    return keys
