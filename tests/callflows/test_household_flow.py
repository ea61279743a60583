"""A household call as a pure state machine: the per-member section asked of each member."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callflows import (
    Answered,
    AnswerValue,
    Event,
    Gather,
    HangUp,
    Keys,
    Say,
    Silence,
    Transition,
    advance,
    check_flow,
    load_flow,
)
from callflows.engine import AWAY_ANSWER
from callflows.loader import BUILTIN_FLOW
from callflows.transcript import describe
from callflows.trial import Trial

FLOW = load_flow()
COUPLE = ["张桂兰", "李建国"]


def call(members: list[str], *entries: str | Event) -> list[Transition]:
    """Answer a household call, then key each entry (a number's first key comes alone)."""
    steps = [advance(FLOW, {"members": members}, Answered())]
    for entry in entries:
        events: list[Event]
        if isinstance(entry, str) and len(entry) > 1 and entry[0].isdigit():
            events = [Keys(entry[0]), Keys(entry[1:].rstrip("#"))]
        elif isinstance(entry, str):
            events = [Keys(entry) if entry else Silence()]
        else:
            events = [entry]
        for event in events:
            steps.append(advance(FLOW, steps[-1].state, event))
    return steps


def answers(steps: list[Transition]) -> list[AnswerValue]:
    return [a for t in steps for a in t.answers]


def by_member(steps: list[Transition]) -> dict[int | None, dict[str, Any]]:
    out: dict[int | None, dict[str, Any]] = {}
    for answer in answers(steps):
        out.setdefault(answer.member, {})[answer.key] = answer.value
    return out


def spoken(transition: Transition) -> list[Say]:
    said: list[Say] = []
    for action in transition.actions:
        if isinstance(action, Say):
            said.append(action)
        elif isinstance(action, Gather):
            said += action.prompts
    return said


def state(steps: list[Transition]) -> Mapping[str, Any]:
    return steps[-1].state


def test_a_couple_is_named_then_asked_one_after_the_other() -> None:
    steps = call(COUPLE, "1", "365#", "1", "2", "382#", "1", "1", "9")
    first = spoken(steps[1])
    assert first[:2] == [
        Say("household_intro", {"count": "2", "names": "张桂兰、李建国"}),
        Say("member_first", {"name": "张桂兰"}),
    ]
    assert Say("member_next", {"name": "李建国"}) in [s for t in steps for s in spoken(t)]
    assert by_member(steps) == {
        0: {"temperature_c": "36.5", "symptoms": False},
        1: {"temperature_c": "38.2", "symptoms": True},
    }
    assert state(steps)["done"] == [0, 1] and state(steps)["outcome"] == "finished"


def test_needs_are_asked_once_and_belong_to_the_household() -> None:
    steps = call(COUPLE, "1", "365#", "1", "2", "366#", "1", "2", "1", "9")
    needs = [a for a in answers(steps) if a.key == "needs"]
    assert [(a.value, a.member) for a in needs] == [("groceries", None)]
    asked = [s for t in steps for s in spoken(t) if s.prompt == "ask_needs"]
    assert len(asked) == 1


def test_the_away_key_skips_a_member_who_is_not_at_home() -> None:
    steps = call(COUPLE, "1", "7", "368#", "1", "2", "9")
    assert by_member(steps) == {
        0: {AWAY_ANSWER: True},
        1: {"temperature_c": "36.8", "symptoms": False},
    }
    assert Say("member_away", {"name": "张桂兰"}) in spoken(steps[2])
    assert state(steps)["away"] == [0] and state(steps)["done"] == [1]


def test_the_away_key_of_the_last_member_goes_on_to_the_household_questions() -> None:
    steps = call(COUPLE, "1", "365#", "1", "2", "7")
    assert state(steps)["step"] == "needs" and state(steps)["away"] == [1]


def test_a_hang_up_between_members_keeps_the_first_one_done() -> None:
    steps = call(COUPLE, "1", "365#", "1", "2", HangUp())
    assert state(steps)["done"] == [0] and state(steps)["member"] == 1
    assert by_member(steps) == {0: {"temperature_c": "36.5", "symptoms": False}}


def test_a_reading_awaiting_its_read_back_at_a_hang_up_is_the_members() -> None:
    steps = call(COUPLE, "1", "365#", "1", "2", "372#", HangUp())
    last = answers(steps)[-1]
    assert (last.key, last.value, last.member, last.confirmed) == (
        "temperature_c",
        "37.2",
        1,
        False,
    )


def test_seven_inside_a_temperature_is_a_digit_not_the_away_key() -> None:
    steps = call(COUPLE, "1", "37#", "1")
    assert by_member(steps) == {0: {"temperature_c": "37.0"}}


def test_a_single_resident_hears_no_household_words() -> None:
    steps = call([], "1", "365#", "1", "2", "9")
    prompts = {s.prompt for t in steps for s in spoken(t)}
    household = {"household_intro", "member_first", "member_next", "member_away", "member_only"}
    assert not prompts & household
    assert all(a.member is None for a in answers(steps))
    assert by_member(steps)[None]["temperature_c"] == "36.5"


def test_the_last_member_still_due_is_named() -> None:
    steps = call(["李建国"], "1", "382#", "1", "1", "9")
    assert spoken(steps[1])[0] == Say("member_only", {"name": "李建国"})
    prompts = [s.prompt for t in steps for s in spoken(t)]
    assert "household_intro" not in prompts and "member_next" not in prompts
    assert by_member(steps)[0] == {"temperature_c": "38.2", "symptoms": True}
    assert state(steps)["done"] == [0] and state(steps)["outcome"] == "finished"


def test_the_last_member_can_be_away_too() -> None:
    steps = call(["李建国"], "1", "7", "9")
    assert Say("member_away", {"name": "李建国"}) in spoken(steps[2])
    assert by_member(steps)[0] == {AWAY_ANSWER: True}
    assert state(steps)["away"] == [0] and state(steps)["done"] == []


def test_the_turn_limit_grows_with_the_household() -> None:
    three = ["甲", "乙", "丙"]
    entries = ["1"] + ["365#", "1", "2"] * 3 + ["9"]
    assert state(call(three, *entries))["outcome"] == "finished"


def test_an_away_key_that_answers_a_question_of_the_section_is_refused() -> None:
    text = BUILTIN_FLOW.read_text(encoding="utf-8").replace('away_key = "7"', 'away_key = "2"')
    problems = check_flow(text)
    assert any(
        "away_key '2' already answers step 'temperature', 'symptoms'" in str(p) for p in problems
    )
    starts_a_number = text.replace('away_key = "2"', 'away_key = "3"')
    assert any("'temperature'" in str(p) for p in check_flow(starts_a_number))


def test_the_section_must_name_asking_steps() -> None:
    text = BUILTIN_FLOW.read_text(encoding="utf-8").replace(
        'steps = ["temperature", "symptoms"]', 'steps = ["temperature", "nowhere"]'
    )
    assert any("'nowhere' is not an asking step" in str(p) for p in check_flow(text))


def test_flow_show_writes_out_the_household_section() -> None:
    text = describe(FLOW, "zh-CN")
    assert "[temperature] asks for a number, stored as temperature_c (asked of each" in text
    assert "今天要登记2位：张桂兰、李建国。" in text
    assert "7 as the first key" in text
    english = describe(FLOW, "en")
    assert "Today we check in 2 people: Zhang Guilan, Li Jianguo." in english


def test_flow_try_keys_through_a_household() -> None:
    trial = Trial(FLOW, "zh-CN", members=("张桂兰", "李建国"))
    heard = trial.begin()
    for line in ["1", "365#", "1", "2", "7", "9"]:
        heard += trial.key(line)
    assert any("先登记张桂兰" in line for line in heard)
    assert "[stored temperature_c = 36.5 for 张桂兰]" in heard
    assert trial.answers[f"{AWAY_ANSWER} (李建国)"] is True
