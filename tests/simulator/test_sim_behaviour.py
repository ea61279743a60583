"""The compact behaviour language: parsing, defaults, round trips and clear errors."""

from __future__ import annotations

import pytest

from ivr.carriers.simulator import Behaviour


@pytest.mark.parametrize(
    "spec",
    [
        "answer 1 365# 1 2 9",
        "busy",
        "no-answer",
        "answer 1 999# 375# 1 2 0",
        "answer 1 365# 1 2 9 dial=completed",
        "answer 2 dial=completed:95",
        "machine",
        "machine answered_by=machine_end_beep",
        "reject:21211",
        "answer 1 365# hangup",
        "answer - * 1 faults=duplicate_status,reorder_status",
    ],
)
def test_spec_round_trips(spec: str) -> None:
    assert str(Behaviour.parse(spec)) == spec
    assert Behaviour.parse(str(Behaviour.parse(spec))) == Behaviour.parse(spec)


def test_parse_reads_every_part() -> None:
    behaviour = Behaviour.parse(
        "answer 1 365# - hangup dial=completed:42 answered_by=unknown faults=drop_completed"
    )
    assert behaviour.outcome == "answer"
    assert behaviour.keys == ("1", "365#", "-", "hangup")
    assert (behaviour.dial, behaviour.dial_duration_s) == ("completed", 42)
    assert behaviour.answered_by == "unknown"
    assert behaviour.faults == frozenset({"drop_completed"})
    assert behaviour.reject_code is None


def test_amd_defaults_follow_the_outcome_and_mode() -> None:
    assert Behaviour.parse("answer").amd_result("Enable") == "human"
    assert Behaviour.parse("machine").amd_result("Enable") == "machine_start"
    assert Behaviour.parse("machine").amd_result("DetectMessageEnd") == "machine_end_beep"
    assert Behaviour.parse("answer answered_by=fax").amd_result("Enable") == "fax"


def test_reject_carries_its_code() -> None:
    assert Behaviour.parse("reject:20429").reject_code == 20429
    assert not Behaviour.parse("reject:500").answers


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("", "empty behaviour"),
        ("pickup", "unknown outcome 'pickup'"),
        ("answer 1 x2", "'x2' is not a key entry"),
        ("answer colour=blue", "unknown option 'colour'"),
        ("busy 1", "only a person who answers presses keys"),
        ("answer dial=maybe", "unknown dial outcome 'maybe'"),
        ("answer dial=completed:soon", "'soon' is not a whole number"),
        ("machine answered_by=robot", "unknown answered_by 'robot'"),
        ("answer faults=lose_everything", "unknown fault(s) lose_everything"),
        ("reject:abc", "unknown outcome 'reject:abc'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        Behaviour.parse(spec)
