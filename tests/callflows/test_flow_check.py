"""``pingan flow check``'s engine: a broken flow file is refused with messages staff can act
on, each pointing at its line."""

from __future__ import annotations

from textwrap import dedent

import pytest

from callflows import BUILTIN_FLOW, FlowError, Problem, check_flow, parse_flow

GOOD = dedent(
    """\
    [flow]
    name = "tiny"
    start = "hello"

    [steps.hello]
    type = "yes_no"
    answer = "well"
    prompt = "ask_symptoms"
    next = "bye"

    [steps.bye]
    type = "end"
    prompt = "goodbye"
    """
)


def problems(text: str) -> list[str]:
    return [str(p) for p in check_flow(text)]


def test_the_built_in_flow_and_a_minimal_flow_have_no_problems() -> None:
    assert check_flow(BUILTIN_FLOW.read_text(encoding="utf-8")) == []
    assert problems(GOOD) == []


def test_an_unknown_step_type_is_named_with_its_line() -> None:
    text = GOOD.replace('type = "yes_no"', 'type = "question"')
    assert problems(text)[0] == (
        "line 6: step 'hello': unknown step type 'question' (use one of say, any_key, number, "
        "digits, yes_no, choice, multi, news, transfer, end)"
    )


def test_a_prompt_with_no_text_is_reported_per_language() -> None:
    text = GOOD.replace('prompt = "ask_symptoms"', 'prompt = "ask_pets"')
    assert problems(text) == [
        "line 5: prompt 'ask_pets' has no text in language 'en'",
        "line 5: prompt 'ask_pets' has no text in language 'yue'",
        "line 5: prompt 'ask_pets' has no text in language 'zh-CN'",
    ]


def test_an_unreachable_step_is_reported() -> None:
    text = GOOD + '\n[steps.forgotten]\ntype = "end"\nprompt = "goodbye"\n'
    assert problems(text) == [
        "line 15: step 'forgotten' can never be reached from the start step 'hello'"
    ]


def test_a_loop_with_no_way_out_is_reported() -> None:
    text = GOOD.replace('next = "bye"', 'next = "again"') + dedent(
        """
        [steps.again]
        type = "any_key"
        prompt = "press_any_key"
        next = "hello"
        """
    )
    found = problems(text)
    assert "line 5: step 'hello' is in a loop with no way out to an 'end' step" in found
    assert "line 15: step 'again' is in a loop with no way out to an 'end' step" in found
    assert "line 11: step 'bye' can never be reached from the start step 'hello'" in found


def test_a_target_that_does_not_exist_is_reported_at_its_line() -> None:
    text = GOOD.replace('next = "bye"', 'next = "byebye"')
    assert "line 9: step 'hello': next goes to unknown step 'byebye'" in problems(text)


def test_values_of_the_wrong_kind_are_reported_not_crashed_on() -> None:
    text = GOOD.replace('next = "bye"', 'next = "bye"\nmax_tries = "three"\nverify = "yes"')
    assert "line 10: step 'hello': max_tries must be a whole number" in problems(text)
    assert "line 11: step 'hello': verify must be true or false" in problems(text)
    timeout = GOOD.replace('start = "hello"', 'start = "hello"\ntimeout_s = "ten"')
    assert "line 4: [flow] timeout_s must be a whole number" in problems(timeout)


def test_a_digits_step_needs_a_sensible_length() -> None:
    text = GOOD.replace('type = "yes_no"', 'type = "digits"\nmin_length = 9\nmax_length = 4')
    assert problems(text) == [
        "line 8: step 'hello': min_length must be at least 1 and not above max_length"
    ]


def test_invalid_toml_points_at_the_line() -> None:
    (problem,) = check_flow(GOOD + "\n[steps.broken\n")
    assert problem.line == 15 and problem.message.startswith("not valid TOML")


def test_loading_a_broken_flow_raises_with_every_problem() -> None:
    with pytest.raises(FlowError) as raised:
        parse_flow(GOOD.replace('type = "yes_no"', 'type = "question"'))
    assert raised.value.problems[0] == Problem(6, raised.value.problems[0].message)


def test_verify_on_a_step_that_keys_no_number_is_refused() -> None:
    text = GOOD.replace('next = "bye"', 'next = "bye"\nverify = true')
    assert problems(text) == ["line 10: step 'hello': verify only applies to a digits step"]


def test_names_longer_than_the_database_holds_are_refused_before_any_call() -> None:
    # A 40-character reason passed the check and then broke the call on PostgreSQL, mid-call.
    reason = "medicine_running_short_within_three_days"
    text = GOOD.replace('answer = "well"', f'answer = "{"w" * 65}"') + dedent(
        f"""
        [[escalations]]
        reason = "{reason}"
        answer = "{"w" * 65}"
        equals = false
        severity = "high"
        """
    )
    assert problems(text) == [
        f"line 7: answer '{'w' * 65}' is longer than 64 characters",
        f"line 15: escalation reason '{reason}' is longer than 32 characters",
    ]


def test_the_length_limits_are_the_storage_columns() -> None:
    from callflows import check
    from storage import Answer, CallEvent, Escalation, ServiceOrder

    assert CallEvent.__table__.c.name.type.length == check.MAX_STEP_NAME
    assert Answer.__table__.c.key.type.length == check.MAX_ANSWER_KEY
    assert Escalation.__table__.c.reason.type.length == check.MAX_REASON
    assert ServiceOrder.__table__.c.need.type.length == check.MAX_NEED


def test_a_yaml_flow_file_is_refused_with_a_reason() -> None:
    assert [str(p) for p in check_flow("flow:\n  start: hello\n", "mine.yaml")] == [
        "flow files are TOML, not YAML (see callflows/checkin.toml)"
    ]
