"""The staff alert call as a pure flow: 1 acknowledges, * repeats, anything else is asked
again a few times and then the call ends unacknowledged (so the next person is rung)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflows import (
    STAFF_ALERT_FLOW,
    Answered,
    AnswerValue,
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

FLOW = load_flow(STAFF_ALERT_FLOW)
ACK = AnswerValue("acknowledged", "phone")


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


def test_the_alert_reads_the_escalation_and_asks_for_1_one_key_at_a_time() -> None:
    first = start(FLOW)
    assert prompts(first) == ["staff_alert", "staff_alert_keys"]
    gather = first.actions[-1]
    assert isinstance(gather, Gather) and gather.num_digits == 1
    words = FLOW.catalogue.text(
        "staff_alert",
        "zh-CN",
        {"community": "中原社区", "name": "张桂兰", "reason": "体温 39.4 度"},
    ) + FLOW.catalogue.text("staff_alert_keys", "zh-CN")
    assert words == "紧急预警：中原社区 张桂兰，体温 39.4 度。确认请按 1，重听请按星号键。"


def test_pressing_1_acknowledges_and_says_goodbye() -> None:
    done = run(Keys("1"))
    assert done.answers == (ACK,)
    assert prompts(done) == ["staff_alert_thanks", "<hangup>"]
    assert done.outcome == Outcome.FINISHED


def test_star_repeats_the_alert_without_counting_as_a_wrong_key() -> None:
    again = run(Keys("*"), Keys("*"), Keys("*"))
    assert prompts(again) == ["staff_alert", "staff_alert_keys"] and again.outcome is None
    assert run(Keys("*"), Keys("*"), Keys("*"), Keys("1")).answers == (ACK,)


def test_other_keys_are_asked_again_then_the_call_ends_unacknowledged() -> None:
    once = run(Keys("5"))
    assert prompts(once) == ["staff_alert_invalid", "staff_alert", "staff_alert_keys"]
    ended = run(Keys("5"), Keys("9"), Keys("#"))
    assert prompts(ended) == ["staff_alert_unconfirmed", "<hangup>"]
    assert ended.outcome == Outcome.NO_RESPONSE and ended.answers == ()


def test_silence_is_asked_again_twice_then_the_call_ends_unacknowledged() -> None:
    assert run(Silence(), Silence()).outcome is None
    ended = run(Silence(), Silence(), Silence())
    assert prompts(ended) == ["staff_alert_unconfirmed", "<hangup>"]
    assert ended.outcome == Outcome.NO_RESPONSE


def test_a_voicemail_hears_a_short_message_and_nothing_is_acknowledged() -> None:
    machine = advance(FLOW, None, Answered(machine=True))
    assert prompts(machine) == ["staff_alert_machine", "<hangup>"]
    assert machine.outcome == Outcome.MACHINE and machine.answers == ()


def test_hanging_up_mid_alert_acknowledges_nothing() -> None:
    gone = advance(FLOW, start(FLOW).state, HangUp())
    assert gone.outcome == Outcome.HUNG_UP and gone.answers == ()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text("0123456789*#", min_size=1, max_size=3).map(Keys),
                          st.just(Silence())), max_size=30))  # fmt: skip
def test_whatever_is_keyed_the_call_ends_and_only_a_1_acknowledges(
    events: list[Keys | Silence],
) -> None:
    transition = start(FLOW)
    answers: list[AnswerValue] = []
    for event in [*events, *[Silence()] * 20]:
        if transition.outcome is not None:
            break
        transition = advance(FLOW, transition.state, event)
        answers += transition.answers
        if transition.answers:
            assert isinstance(event, Keys) and event.digits == "1"
    assert transition.outcome is not None
    assert answers in ([], [ACK])
