"""A flow as people read it: the whole call written out as a transcript (``pingan flow show``).

Every step is listed in call order with the words it speaks (placeholders filled with example
values, numbers spoken as in the language), each key and where it leads, and what silence, a
wrong key and ``*`` do. Staff review a flow file through this before it goes live.
"""

from __future__ import annotations

from collections.abc import Mapping

from callflows.flow import Flow, Step, steps_in_order

EXAMPLE_ARGS: Mapping[str, Mapping[str, str]] = {
    "zh-CN": {"community": "中原社区", "hotline": "037165123456"},
    "yue": {"community": "中原社區", "hotline": "037165123456"},
    "en": {"community": "Zhongyuan Community", "hotline": "037165123456"},
}
EXAMPLE_NUMBER = "36.5"
EXAMPLE_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "zh-CN": ("张桂兰", "李建国"),
    "yue": ("張桂蘭", "李建國"),
    "en": ("Zhang Guilan", "Li Jianguo"),
}

_KIND = {
    "say": "speaks, then goes on",
    "any_key": "waits for any key",
    "number": "asks for a number",
    "digits": "asks for digits (e.g. a phone number)",
    "yes_no": "asks yes or no",
    "choice": "asks to choose one",
    "multi": "menu: several choices, one at a time",
    "news": "reads the resident's news (notices, orders, release day), if any; any key goes on",
    "transfer": "connects the caller to the duty phone",
    "end": "end of the call",
}


def example_args(lang: str) -> dict[str, str]:
    return dict(EXAMPLE_ARGS.get(lang, EXAMPLE_ARGS["en"]))


def describe(flow: Flow, lang: str, args: Mapping[str, str] | None = None) -> str:
    """The whole call in ``lang`` as a readable transcript."""
    lang = flow.catalogue.resolve_language(lang)
    say = _Speaker(flow, lang, {**example_args(lang), **(args or {})})
    meta = flow.catalogue.languages.get(lang)
    lines = [
        f'Call flow "{flow.name}" ({flow.source}) in {meta.name if meta else lang} ({lang})',
        f"At every question: {flow.repeat_key} repeats it; no key for {flow.timeout_s} s "
        "counts as silence. Keyed numbers end with #. Hanging up keeps the answers given.",
        "",
        "When an answering machine picks up (machine detection on):",
        say.quote(flow.machine_prompt),
        "  - hangs up (the attempt counts as not reached)",
    ]
    for step in call_order(flow):
        lines += ["", *_step_lines(flow, step, say)]
    lines += _household_lines(flow, say)
    lines += ["", *_escalation_lines(flow)]
    return "\n".join(lines) + "\n"


def call_order(flow: Flow) -> list[Step]:
    """The main line first (start, then each ``next``), then branches in the order reached."""
    main: list[str] = []
    name: str | None = flow.start
    while name and name in flow.steps and name not in main:
        main.append(name)
        name = flow.steps[name].next
    rest = [s for s in steps_in_order(flow) if s.name not in main]
    return [flow.steps[n] for n in main] + rest


class _Speaker:
    def __init__(self, flow: Flow, lang: str, args: Mapping[str, str]) -> None:
        self.flow, self.lang, self.args = flow, lang, args

    def text(self, prompt: str, extra: Mapping[str, str] | None = None) -> str:
        args = {**self.args, "temperature": EXAMPLE_NUMBER, "value": EXAMPLE_NUMBER}
        return self.flow.catalogue.text(prompt, self.lang, {**args, **(extra or {})})

    def quote(self, prompt: str, indent: str = "  ", args: Mapping[str, str] | None = None) -> str:
        return f'{indent}"{self.text(prompt, args)}"'


def _step_lines(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    head = f"[{step.name}] {_KIND.get(step.type, step.type)}"
    if step.answer and step.type not in ("transfer",):
        head += f", stored as {step.answer}"
    if flow.household is not None and step.name in flow.household.steps:
        head += " (asked of each household member)"
    lines = [head, *(say.quote(p) for p in step.prompts)]
    body = _BODIES.get(step.type)
    if body is not None:
        lines += body(flow, step, say)
    if step.asks:
        lines += _fallbacks(flow, step, say)
    return lines


def _any_key(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    lines = [
        f'  {key} -> "{say.text(prompt)}", then asks again' for key, prompt in step.info.items()
    ]
    return [*lines, f"  any other key -> [{step.next}]"]


def _number(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    example = EXAMPLE_NUMBER.replace(".", "") if step.decimals else "7"
    lines = [f"  a number from {step.min} to {step.max}, e.g. {' '.join(example)} #"]
    if step.decimals:
        lines.append("    * between digits is the decimal point, e.g. 3 6 * 5 #")
    if step.hint:
        lines.append(f'    # alone -> "{say.text(step.hint)}" and asks again')
    if step.readback:
        lines += [
            f"    reads it back:{say.quote(step.readback, ' ')}",
            f"    1 -> stores it -> [{step.next}]",
            "    2 -> asks again",
        ]
    else:
        lines.append(f"    stores it -> [{step.next}]")
    return lines


def _digits(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    size = f"{step.min_length} to {step.max_length} digits, then #"
    if not step.verify:
        return [f"  {size} -> stores them -> [{step.next}]"]
    return [
        f"  {size}; the app looks the number up:",
        f"    found -> [{step.next}]",
        "    not found -> counts as a wrong entry",
    ]


def _yes_no(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    return [f"  1 -> yes -> [{step.next}]", f"  2 -> no -> [{step.next}]"]


def _choice(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    lines = [
        f"  {key} -> {value} -> [{step.goto.get(key, step.next)}]"
        for key, value in step.options.items()
    ]
    return lines + _gotos(step)


def _multi(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    lines = [f"  {key} -> adds {value}" for key, value in step.options.items()]
    if step.more:
        lines.append(f"    after each choice:{say.quote(step.more, ' ')} (asks for more)")
    return [*lines, *_gotos(step), f"  {step.done_key} -> done -> [{step.next}]"]


def _gotos(step: Step) -> list[str]:
    return [
        f"  {key} -> [{target}]" for key, target in step.goto.items() if key not in step.options
    ]


def _transfer(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    failed = f"{say.quote(step.failed, ' ')}," if step.failed else ""
    answer = step.answer or "callback_requested"
    return [
        f"  staff answer -> they talk; afterwards -> [{step.next}]",
        f"  nobody answers (or no duty phone) ->{failed} stores {answer} = yes -> [{step.next}]",
    ]


def _end(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    return [f"  - hangs up (outcome: {step.outcome})"]


def _news(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    return [
        "  (before these words: each piece of news the app has for this resident today)",
        f"  {flow.repeat_key} -> reads it all again",
        f"  any other key or silence -> [{step.next}]",
        f"  no news -> straight on to [{step.next}]",
    ]


def _say(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    return [f"  -> [{step.next}]"]


_BODIES = {
    "say": _say,
    "any_key": _any_key,
    "number": _number,
    "digits": _digits,
    "yes_no": _yes_no,
    "choice": _choice,
    "multi": _multi,
    "news": _news,
    "transfer": _transfer,
    "end": _end,
}


def _fallbacks(flow: Flow, step: Step, say: _Speaker) -> list[str]:
    """Wrong keys and silence: what every asking step does when the caller does not answer."""
    after_fail = step.on_fail or step.next
    skip = f"{say.quote(step.skip, ' ')}," if step.skip else ""
    lines = []
    if step.type != "any_key":
        lines.append(
            f'  wrong entry -> "{say.text(step.invalid)}" and asks again; after '
            f"{step.max_tries} wrong entries ->{skip} [{after_fail}]"
        )
    times = "once" if step.silence_retries == 1 else f"{step.silence_retries} times"
    lines.append(f"  silence -> asks again ({times}), then -> [{step.on_silence or step.next}]")
    return lines


def example_members(lang: str) -> tuple[str, ...]:
    return EXAMPLE_MEMBERS.get(lang, EXAMPLE_MEMBERS["en"])


def _household_lines(flow: Flow, say: _Speaker) -> list[str]:
    """How a call to a phone several residents share goes through the per-member section."""
    household = flow.household
    if household is None:
        return []
    first, second = example_members(say.lang)
    steps = " -> ".join(f"[{name}]" for name in household.steps)
    after = flow.steps[household.steps[-1]].next if household.steps[-1] in flow.steps else None
    intro = {"count": "2", "names": f"{first}、{second}"}
    return [
        "",
        f"A household of two on one phone ({first}, {second}): {steps} asked of each in turn",
        f"  before {first}'s questions:{say.quote(household.intro, ' ', intro)}"
        f"{say.quote(household.first, ' ', {'name': first})}",
        f"  after {first}'s answers:{say.quote(household.following, ' ', {'name': second})}, "
        f"then {steps} for {second}",
        f"  {household.away_key} as the first key of any of these questions -> "
        f"{say.quote(household.away, '', {'name': first})}: {first} is skipped "
        f"(counts as not reached; only they are called again) -> {second}'s questions",
        f"  a retry or call-back with only {second} still due:"
        f"{say.quote(household.only, ' ', {'name': second})}, then {steps} for {second}",
        f"  after the last member -> [{after}] once for the household "
        "(its answers are the household's)",
        "  each member's answers, escalations and retries are their own; a hang-up keeps "
        "the members already answered",
    ]


def _escalation_lines(flow: Flow) -> list[str]:
    lines = ["Escalations opened by answers:"]
    for step in flow.steps.values():
        if step.vital == "temperature" and step.answer:
            lines.append(
                f"  {step.answer}: fever, high fever, low or rising temperature "
                "(thresholds are settings)"
            )
    for rule in flow.escalations:
        lines.append(f"  {rule.answer} = {_show(rule.equals)} -> {rule.reason} ({rule.severity})")
    return lines if len(lines) > 1 else [*lines, "  (none)"]


def _show(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)
