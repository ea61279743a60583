"""``pingan flow check|show|try``: staff review and rehearse a flow file before it goes live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from callflows import BUILTIN_FLOW
from ivr.cli import Pingan, cli

EXAMPLE = BUILTIN_FLOW.parent / "examples" / "checkin_with_medicine.toml"
BROKEN = """\
[flow]
name = "broken"
start = "hello"

[steps.hello]
type = "question"
prompt = "ask_pets"
next = "bye"

[steps.bye]
type = "end"
prompt = "goodbye"

[steps.lost]
type = "end"
prompt = "goodbye"
"""


def flow(*args: str, app: Flask | None = None, input: str | None = None) -> Any:
    obj = Pingan(app=app) if app is not None else Pingan()
    return CliRunner().invoke(cli, ["flow", *args], obj=obj, input=input)


def test_check_accepts_the_built_in_and_the_example_flows() -> None:
    for path in (BUILTIN_FLOW, EXAMPLE):
        result = flow("check", str(path))
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{path}: OK (")


def test_check_lists_each_problem_with_its_line_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")

    result = flow("check", str(path))

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}: 5 problems",
        "line 6: step 'hello': unknown step type 'question' (use one of say, any_key, number, "
        "digits, yes_no, choice, multi, news, transfer, end)",
        "line 5: prompt 'ask_pets' has no text in language 'en'",
        "line 5: prompt 'ask_pets' has no text in language 'yue'",
        "line 5: prompt 'ask_pets' has no text in language 'zh-CN'",
        "line 14: step 'lost' can never be reached from the start step 'hello'",
    ]


@pytest.mark.parametrize("settings_overrides", [{"flow_file": str(EXAMPLE)}])
def test_without_a_file_the_flow_in_use_is_checked_and_shown(app: Flask) -> None:
    checked = flow("check", app=app)
    shown = flow("show", "--lang", "en", app=app)

    assert checked.output.startswith(f"{EXAMPLE}: OK")
    assert "[medicine] asks yes or no, stored as medicine_enough" in shown.output


def test_show_prints_the_whole_call_in_mandarin_and_in_english() -> None:
    chinese = flow("show", str(BUILTIN_FLOW), "--lang", "zh-CN")
    english = flow("show", str(BUILTIN_FLOW), "--lang", "en")

    assert chinese.exit_code == 0 and english.exit_code == 0
    assert '"请输入您的体温。比如三十六点五度，请按3、6、5，再按井号键。"' in chinese.output
    assert (
        '"You entered 36.5 degrees. If that is correct, press 1. To enter it again, press 2."'
        in (english.output)
    )


def test_show_refuses_a_broken_file_and_points_to_check(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    result = flow("show", str(path))
    assert result.exit_code == 1 and "see `pingan flow check`" in result.output


def test_try_reads_keys_line_by_line_and_says_what_the_resident_hears() -> None:
    result = flow("try", str(EXAMPLE), "--lang", "en", input="1\n365#\n1\n2\n2\n\n\n")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "» Do you have enough medicine for three days? Press 1 for yes, 2 for no." in lines
    assert "[escalation: medicine_short (high): medicine_enough = no]" in lines
    assert lines[-1] == "Answers: temperature_c = 36.5, symptoms = no, medicine_enough = no"
    assert "» Thank you. Stay well. Goodbye." in lines  # silence twice at the needs menu


def test_try_hangs_up_when_the_input_ends(app: Flask) -> None:
    result = flow("try", "--lang", "zh-CN", app=app, input="1\n")
    assert result.exit_code == 0
    assert "[call over: hung_up]" in result.output
