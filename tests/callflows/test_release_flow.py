"""The release call as a pure flow: the resident hears that their isolation was ended early;
* says it again; any other key or silence ends the call with goodbye, asking nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflows import (
    RELEASE_FLOW,
    Answered,
    Gather,
    HangUp,
    Hangup,
    Keys,
    Outcome,
    Say,
    Silence,
    Transition,
    advance,
    load_flow,
    start,
)

FLOW = load_flow(RELEASE_FLOW)
MESSAGE = ["release_call", "release_call_keys"]


def prompts(transition: Transition) -> list[str]:
    names: list[str] = []
    for action in transition.actions:
        if isinstance(action, Say):
            names.append(action.prompt)
        elif isinstance(action, Gather):
            names += [p.prompt for p in action.prompts]
        elif isinstance(action, Hangup):
            names.append("<hangup>")
    return names


def run(*events: Keys | Silence) -> Transition:
    transition = start(FLOW)
    for event in events:
        transition = advance(FLOW, transition.state, event)
    return transition


def test_the_call_says_the_release_message_and_waits_for_one_key() -> None:
    first = start(FLOW)
    assert prompts(first) == MESSAGE
    gather = first.actions[-1]
    assert isinstance(gather, Gather) and gather.num_digits == 1
    words = FLOW.catalogue.text("release_call", "zh-CN", {"community": "中原社区"})
    assert "中原社区" in words and "您的居家隔离已由社区提前解除" in words


def test_star_says_it_again_as_often_as_asked() -> None:
    assert prompts(run(Keys("*"))) == MESSAGE
    again = run(Keys("*"), Keys("*"), Keys("*"))
    assert prompts(again) == MESSAGE and again.outcome is None


def test_any_other_key_ends_with_goodbye_and_stores_nothing() -> None:
    for key in "0123456789#":
        done = run(Keys(key))
        assert prompts(done) == ["goodbye", "<hangup>"], key
        assert done.outcome == Outcome.FINISHED and done.answers == ()


def test_silence_ends_with_goodbye_at_once() -> None:
    done = run(Silence())
    assert prompts(done) == ["goodbye", "<hangup>"] and done.outcome == Outcome.FINISHED


def test_a_voicemail_hears_the_message_once() -> None:
    machine = advance(FLOW, None, Answered(machine=True))
    assert prompts(machine) == ["release_call_machine", "<hangup>"]
    assert machine.outcome == Outcome.MACHINE


def test_hanging_up_during_the_message_is_not_a_finished_call() -> None:
    gone = advance(FLOW, start(FLOW).state, HangUp())
    assert gone.outcome == Outcome.HUNG_UP and gone.answers == ()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text("0123456789*#", min_size=1, max_size=3).map(Keys),
                          st.just(Silence())), max_size=30))  # fmt: skip
def test_whatever_is_keyed_the_call_ends_soon_and_asks_nothing(
    events: list[Keys | Silence],
) -> None:
    transition = start(FLOW)
    for event in [*events, Silence()]:
        if transition.outcome is not None:
            break
        transition = advance(FLOW, transition.state, event)
        assert transition.answers == ()
    assert transition.outcome == Outcome.FINISHED
