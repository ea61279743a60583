"""The README documents every setting and command an operator can use."""

from __future__ import annotations

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
