"""The daily check-in script as a pure state machine: (state, keys) → (prompts, next state)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from callflows import (
    Answered,
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
    advance,
    load_flow,
    start,
)

FLOW = load_flow()


def run(*events: Event) -> list[Transition]:
    """Answer the call, then apply each event; returns every transition."""
    steps = [start(FLOW)]
    for event in events:
        steps.append(advance(FLOW, steps[-1].state, event))
    return steps


def keys(*entries: str) -> list[Event]:
    return [Keys(e) if e else Silence() for e in entries]


def prompts(transition: Transition) -> list[str]:
    names: list[str] = []
    for action in transition.actions:
        if isinstance(action, Say):
            names.append(action.prompt)
        elif isinstance(action, Gather):
            names += [p.prompt for p in action.prompts]
        elif isinstance(action, Transfer):
            names.append("<dial>")
        elif isinstance(action, Hangup):
            names.append("<hangup>")
    return names


def answers(steps: Sequence[Transition]) -> dict[str, object]:
    found: dict[str, object] = {}
    for step in steps:
        for answer in step.answers:
            if answer.append:
                found.setdefault(answer.key, []).append(answer.value)  # type: ignore[union-attr]
            else:
                found[answer.key] = answer.value
    return found


def test_the_greeting_names_the_community_and_asks_for_any_key() -> None:
    first = start(FLOW)
    assert prompts(first) == ["greeting", "press_any_key"]
    gather = first.actions[0]
    assert isinstance(gather, Gather) and gather.num_digits == 1 and gather.timeout_s >= 8


def test_a_healthy_resident_completes_the_whole_call() -> None:
    steps = run(*keys("1", "365", "1", "2", "9"))
    assert answers(steps) == {"temperature_c": "36.5", "symptoms": False}
    assert prompts(steps[-1]) == ["goodbye", "<hangup>"]
    assert steps[-1].outcome is Outcome.FINISHED


@pytest.mark.parametrize(
    ("state_events", "expected_prompts"),
    [
        (["1"], ["ask_temperature", "repeat_hint"]),
        (["1", "365"], ["temperature_readback"]),
        (["1", "365", "1"], ["ask_symptoms"]),
        (["1", "365", "1", "2"], ["ask_needs"]),
        (["1", "365", "1", "2", "1"], ["needs_more"]),
        (["1", "365", "1", "2", "9"], ["goodbye", "<hangup>"]),
        (["1", "37"], ["temperature_readback"]),
        (["1", "3"], []),  # the first key of a number: the rest is keyed in silence
        (["1", "3", ""], ["temperature_invalid", "ask_temperature", "repeat_hint"]),
        (["1", "3", "65"], ["temperature_readback"]),
        (["1", "365", "2"], ["ask_temperature", "repeat_hint"]),
        (["1", "365", "1", "5"], ["invalid_key", "ask_symptoms"]),
        (["1", "365", "1", "2", "0"], ["connecting", "<dial>"]),
        (["8"], ["hotline", "greeting", "press_any_key"]),
        (["*"], ["greeting", "press_any_key"]),
    ],
)
def test_each_key_leads_to_the_scripted_next_prompt(
    state_events: list[str], expected_prompts: list[str]
) -> None:
    assert prompts(run(*keys(*state_events))[-1]) == expected_prompts


def test_the_readback_speaks_the_keyed_temperature() -> None:
    readback = run(*keys("1", "382"))[-1].actions[0]
    assert isinstance(readback, Gather)
    assert readback.prompts[0].args["temperature"] == "38.2"
    text = FLOW.catalogue.text("temperature_readback", "zh-CN", readback.prompts[0].args)
    assert "三十八点二度" in text


@pytest.mark.parametrize("entry", ["*", "36*", "*365"])
def test_star_repeats_every_question_without_counting_a_mistake(entry: str) -> None:
    steps = run(*keys("1", entry, entry, entry, "365", "1"))
    assert answers(steps)["temperature_c"] == "36.5"


def test_a_wrong_temperature_then_a_right_one_is_stored() -> None:
    steps = run(*keys("1", "999", "368", "1", "2", "9"))
    assert answers(steps)["temperature_c"] == "36.8"
    assert prompts(steps[2]) == ["temperature_invalid", "ask_temperature", "repeat_hint"]


def test_three_wrong_temperatures_move_on_without_one() -> None:
    steps = run(*keys("1", "999", "12", "4444"))
    assert "temperature_c" not in answers(steps)
    assert prompts(steps[-1]) == ["temperature_skip", "ask_symptoms"]


@pytest.mark.parametrize("digits", ["339", "421", "1234", "33", "3*65", "36*55"])
def test_out_of_range_or_malformed_temperatures_are_refused(digits: str) -> None:
    assert prompts(run(*keys("1", digits))[-1])[0] == "temperature_invalid"


def test_silence_at_the_greeting_asks_once_more_then_says_goodbye() -> None:
    steps = run(Silence(), Silence())
    assert prompts(steps[1]) == ["greeting", "press_any_key"]
    assert prompts(steps[2]) == ["goodbye_no_response", "<hangup>"]
    assert steps[2].outcome is Outcome.NO_RESPONSE


def test_silence_at_a_question_reasks_once_then_moves_on() -> None:
    steps = run(*keys("1", "365", "1", "", ""))
    assert prompts(steps[4]) == ["ask_symptoms"]
    assert prompts(steps[5]) == ["ask_needs"]


def test_silence_at_the_readback_keeps_the_keyed_temperature() -> None:
    steps = run(*keys("1", "372", "", ""))
    assert answers(steps)["temperature_c"] == "37.2"
    assert prompts(steps[-1]) == ["ask_symptoms"]


def test_needs_are_stored_one_by_one_without_repeats() -> None:
    steps = run(*keys("1", "365", "1", "2", "1", "2", "1", "3", "4", "9"))
    assert answers(steps)["needs"] == ["groceries", "medicine", "supplies", "garbage"]


def test_nobody_answering_the_transfer_records_a_callback_request() -> None:
    steps = run(*keys("1", "365", "1", "2", "0"), DialEnded("no-answer"))
    assert answers(steps)["callback_requested"] is True
    assert prompts(steps[-1]) == ["staff_will_call", "goodbye", "<hangup>"]


def test_a_completed_transfer_ends_the_call_politely() -> None:
    steps = run(*keys("1", "365", "1", "2", "0"), DialEnded("completed"))
    assert "callback_requested" not in answers(steps)
    assert prompts(steps[-1]) == ["goodbye", "<hangup>"]


def test_a_machine_hears_a_short_message_and_the_call_ends() -> None:
    transition = advance(FLOW, None, Answered(machine=True))
    assert prompts(transition) == ["machine", "<hangup>"]
    assert transition.outcome is Outcome.MACHINE


def test_a_hang_up_keeps_what_was_answered_and_ends_the_flow() -> None:
    steps = run(*keys("1", "365", "1", "1"), HangUp())
    assert answers(steps) == {"temperature_c": "36.5", "symptoms": True}
    assert steps[-1].outcome is Outcome.HUNG_UP and steps[-1].actions == ()


def test_events_after_the_end_only_hang_up_and_store_nothing() -> None:
    ended = run(*keys("1", "365", "1", "2", "9"))[-1]
    again = advance(FLOW, ended.state, Keys("1"))
    assert again.actions == (Hangup(),) and again.answers == ()


def test_answering_again_repeats_the_current_question_without_advancing() -> None:
    at_symptoms = run(*keys("1", "365", "1"))[-1]
    again = advance(FLOW, at_symptoms.state, Answered())
    assert prompts(again) == ["ask_symptoms"] and again.state == at_symptoms.state


def test_the_state_survives_a_round_trip_through_json() -> None:
    import json

    state = run(*keys("1", "365", "1", "2", "1"))[-1].state
    assert advance(FLOW, json.loads(json.dumps(state)), Keys("9")).outcome is Outcome.FINISHED


def unconfirmed(steps: Sequence[Transition]) -> set[str]:
    return {a.key for step in steps for a in step.answers if not a.confirmed}


def test_a_temperature_keyed_then_hung_up_on_is_kept_unconfirmed() -> None:
    steps = run(*keys("1", "385"), HangUp())
    assert answers(steps) == {"temperature_c": "38.5"}
    assert unconfirmed(steps) == {"temperature_c"}
    assert steps[-1].outcome is Outcome.HUNG_UP


@pytest.mark.parametrize("at_readback", [["", ""], ["5", "5", "5"]])
def test_a_temperature_never_confirmed_at_the_readback_is_kept_unconfirmed(
    at_readback: list[str],
) -> None:
    steps = run(*keys("1", "372", *at_readback))
    assert answers(steps)["temperature_c"] == "37.2"
    assert unconfirmed(steps) == {"temperature_c"}


def test_a_confirmed_temperature_is_stored_confirmed() -> None:
    steps = run(*keys("1", "372", "1"), HangUp())
    assert answers(steps) == {"temperature_c": "37.2"} and unconfirmed(steps) == set()


def test_hanging_up_while_the_duty_phone_rings_keeps_the_request_for_a_call_back() -> None:
    steps = run(*keys("1", "365", "1", "2", "0"), HangUp())
    assert answers(steps)["callback_requested"] is True


@pytest.mark.parametrize(
    "before",
    [[], ["1"], ["1", "365", "1"], ["1", "365", "1", "2"], ["1", "365", "1", "2", "1"]],
)
def test_a_hang_up_at_any_question_stores_nothing_that_was_not_keyed(before: list[str]) -> None:
    steps = run(*keys(*before))
    hung_up = advance(FLOW, steps[-1].state, HangUp())
    assert hung_up.answers == () and hung_up.outcome is Outcome.HUNG_UP


def skipped(steps: Sequence[Transition]) -> list[str]:
    return list(steps[-1].state.get("skipped", []))


def test_three_wrong_keys_at_the_symptoms_question_leave_it_unanswered() -> None:
    steps = run(*keys("1", "365", "1", "5", "5", "5", "9"))
    assert "symptoms" not in answers(steps) and steps[-1].outcome is Outcome.FINISHED
    assert skipped(steps) == ["symptoms"]


def test_a_call_that_answers_every_question_skips_none() -> None:
    assert skipped(run(*keys("1", "365", "1", "2", "1", "", "", ""))) == []
    assert skipped(run(*keys("1", "365", "1", "2", "9"))) == []


def test_silence_at_a_question_leaves_it_unanswered() -> None:
    assert skipped(run(*keys("1", "365", "1", "", "", "9"))) == ["symptoms"]


def test_hash_starts_the_call_like_any_other_key() -> None:
    first = start(FLOW).actions[0]
    assert isinstance(first, Gather) and first.finish_key == ""  # '#' is a key, not "done"
    assert prompts(run(Keys("#"))[-1]) == ["ask_temperature", "repeat_hint"]


def test_every_question_first_takes_one_key_so_star_repeats_at_once() -> None:
    for entries in (["1"], ["1", "365"], ["1", "365", "1"], ["1", "365", "1", "2"]):
        gather = run(*keys(*entries))[-1].actions[-1]
        assert isinstance(gather, Gather)
        assert gather.num_digits == 1 and gather.finish_key == ""
    assert prompts(run(*keys("1", "*"))[-1]) == ["ask_temperature", "repeat_hint"]


def test_a_temperature_is_keyed_first_key_then_the_rest_up_to_hash() -> None:
    steps = run(*keys("1", "3"))
    rest = steps[-1].actions[-1]
    assert isinstance(rest, Gather) and rest.prompts == () and rest.finish_key == "#"
    steps.append(advance(FLOW, steps[-1].state, Keys("85")))
    assert prompts(steps[-1]) == ["temperature_readback"]
    assert steps[-1].actions[0].prompts[0].args["temperature"] == "38.5"  # type: ignore[union-attr]


@pytest.mark.parametrize("rest", ["6*5", "6*"])
def test_star_after_digits_is_a_decimal_point_or_asks_again(rest: str) -> None:
    steps = run(*keys("1", "3", rest))
    if rest == "6*5":
        assert prompts(steps[-1]) == ["temperature_readback"]
        assert answers(run(*keys("1", "3", rest, "1")))["temperature_c"] == "36.5"
    else:
        assert prompts(steps[-1]) == ["ask_temperature", "repeat_hint"]


def test_hash_alone_at_the_temperature_gets_the_hint_to_key_a_number() -> None:
    hinted = prompts(run(*keys("1", "#"))[-1])
    assert hinted == ["temperature_hint", "ask_temperature", "repeat_hint"]
