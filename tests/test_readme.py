"""The README documents every setting and command an operator can use."""

from __future__ import annotations

import re
from pathlib import Path

from ivr.config import SETTINGS

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in README]
    assert missing == []


def test_the_readme_gives_the_two_commands() -> None:
    assert "`./scripts/demo`" in README and "`./scripts/test`" in README
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in ci


def test_the_simulators_behaviour_language_is_documented() -> None:
    from ivr.carriers.simulator.behaviour import AMD_RESULTS, FAULTS, HANG_UP, OUTCOMES, SILENCE

    words = sorted(OUTCOMES | FAULTS | AMD_RESULTS | {HANG_UP, SILENCE})
    assert [w for w in words if f"`{w}`" not in README] == []
    options = ("dial", "answered_by", "faults", "think")
    assert [o for o in options if f"`{o}=" not in README] == []


def test_every_behaviour_the_readme_shows_is_one_the_simulator_accepts() -> None:
    from ivr.carriers.simulator.behaviour import Behaviour

    shown = re.findall(r'--script "\+\d+=([^"]+)"', README)
    shown += re.findall(r"Example: `([^`]+)`", README)
    assert shown
    for spec in shown:
        Behaviour.parse(spec)
