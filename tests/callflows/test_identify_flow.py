"""The identify flow for callers we cannot match by number: key in the registered number; the
app (not the pure engine) decides whether it is known, through ``verify`` and ``Checked``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflows import (
    IDENTIFY_FLOW,
    Checked,
    Gather,
    Keys,
    Outcome,
    Say,
    Silence,
    Transfer,
    Transition,
    advance,
    load_flow,
    start,
)

FLOW = load_flow(IDENTIFY_FLOW)


def prompts(transition: Transition) -> list[str]:
    names: list[str] = []
    for action in transition.actions:
        if isinstance(action, Say):
            names.append(action.prompt)
        elif isinstance(action, Gather):
            names += [p.prompt for p in action.prompts]
        elif isinstance(action, Transfer):
            names.append("<dial>")
    return names


def keyed(transition: Transition, digits: str, *, known: bool) -> Transition:
    waiting = advance(FLOW, transition.state, Keys(digits))
    assert waiting.verify == digits and waiting.actions == ()
    return advance(FLOW, waiting.state, Checked(known))


def test_an_unknown_caller_is_welcomed_and_asked_for_the_registered_number() -> None:
    first = start(FLOW)
    assert prompts(first) == ["inbound_welcome", "identify_ask_phone", "repeat_hint"]
    gather = first.actions[-1]
    assert isinstance(gather, Gather) and gather.num_digits == 1  # '*' repeats at once
    rest = advance(FLOW, first.state, Keys("1")).actions[-1]
    assert isinstance(rest, Gather) and rest.num_digits is None and rest.finish_key == "#"
    assert rest.prompts == ()  # the caller is keying: nothing is said over it


def test_a_registered_number_is_stored_and_ends_the_identify_flow() -> None:
    found = keyed(start(FLOW), "13803710101", known=True)
    assert found.outcome is Outcome.FINISHED
    assert [(a.key, a.value) for a in found.answers] == [("registered_phone", "13803710101")]
    assert prompts(found) == ["identify_found"]


def test_two_unknown_numbers_put_the_caller_through_to_staff() -> None:
    once = keyed(start(FLOW), "13800000000", known=False)
    assert prompts(once) == ["identify_not_found", "identify_ask_phone", "repeat_hint"]
    twice = keyed(once, "13900000000", known=False)
    assert prompts(twice) == ["connecting", "<dial>"]


def test_too_short_an_entry_is_refused_without_asking_the_app() -> None:
    short = advance(FLOW, start(FLOW).state, Keys("12"))
    assert short.verify is None
    assert prompts(short)[0] == "identify_not_found"


def test_silence_asks_once_more_then_goes_to_staff() -> None:
    first = start(FLOW)
    again = advance(FLOW, first.state, Silence())
    assert prompts(again) == ["identify_ask_phone", "repeat_hint"]
    assert prompts(advance(FLOW, again.state, Silence())) == ["connecting", "<dial>"]


def test_star_repeats_the_question() -> None:
    repeat = advance(FLOW, start(FLOW).state, Keys("*"))
    assert prompts(repeat) == ["identify_ask_phone", "repeat_hint"] and repeat.verify is None


def test_a_verdict_nobody_asked_for_only_repeats_the_question() -> None:
    stray = advance(FLOW, start(FLOW).state, Checked(True))
    assert stray.answers == () and prompts(stray) == ["identify_ask_phone", "repeat_hint"]


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(
        st.one_of(st.text(alphabet="0123456789*#", max_size=16), st.sampled_from(["13803710101"])),
        max_size=30,
    ),
    verdicts=st.lists(st.booleans(), max_size=30),
)
def test_whatever_an_unknown_caller_keys_the_call_ends_identified_or_with_staff(
    entries: list[str], verdicts: list[bool]
) -> None:
    transition = start(FLOW)
    answers = iter(verdicts)
    for entry in entries:
        if transition.ended or any(isinstance(a, Transfer) for a in transition.actions):
            break
        transition = advance(FLOW, transition.state, Keys(entry) if entry else Silence())
        if transition.verify is not None:
            assert transition.verify.isdigit() and 7 <= len(transition.verify) <= 15
            transition = advance(FLOW, transition.state, Checked(next(answers, False)))
    for _ in range(FLOW.max_turns + 5):  # silence alone reaches staff or the end
        if transition.ended or any(isinstance(a, Transfer) for a in transition.actions):
            break
        transition = advance(FLOW, transition.state, Silence())
    assert transition.ended or any(isinstance(a, Transfer) for a in transition.actions)
