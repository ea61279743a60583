"""Every language has every sentence a call can speak, with the same placeholders, and every
question tells the caller which keys to press."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from callflows import (
    BUILTIN_FLOW,
    IDENTIFY_FLOW,
    LANGUAGES,
    RELEASE_FLOW,
    STAFF_ALERT_FLOW,
    Catalogue,
    check_flow,
    load_flow,
)

FLOW_FILES = [
    BUILTIN_FLOW,
    IDENTIFY_FLOW,
    STAFF_ALERT_FLOW,
    RELEASE_FLOW,
    *sorted((BUILTIN_FLOW.parent / "examples").glob("*.toml")),
]
EXTRA_PROMPTS = (  # spoken outside any flow
    "apology",
    "alert_reading",
    "alert_unreachable",
    "alert_no_response",
    "alert_other",
)
KEY_WORDS = re.compile(r"[0-9]|pound|star|井|星")


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: Path(p).name)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_prompt_the_flow_uses(path: Path, lang: str) -> None:
    flow = load_flow(path)
    missing = [
        name
        for name in [*flow.prompt_names(), *EXTRA_PROMPTS]
        if not flow.catalogue.has(name, lang)
    ]
    assert missing == [], f"{lang} has no text for {missing} (used by {path.name})"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "zh-CN"])
def test_each_translation_fills_the_same_placeholders_as_mandarin(lang: str) -> None:
    catalogue = load_flow().catalogue
    for name, text in catalogue.prompts["zh-CN"].items():
        assert placeholders(catalogue.prompts[lang][name]) == placeholders(text), (lang, name)


def test_a_prompt_missing_from_one_language_makes_the_flow_fail_its_check() -> None:
    text = BUILTIN_FLOW.read_text(encoding="utf-8").replace(
        'prompt = "ask_symptoms"', 'prompt = "ask_symptoms_v2"'
    )
    text += '\n[prompts.zh-CN]\nask_symptoms_v2 = "您有没有不舒服？有请按1，没有请按2。"\n'
    messages = [p.message for p in check_flow(text)]
    assert "prompt 'ask_symptoms_v2' has no text in language 'en'" in messages
    assert "prompt 'ask_symptoms_v2' has no text in language 'yue'" in messages


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: Path(p).name)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_question_says_which_keys_to_press(path: Path, lang: str) -> None:
    flow = load_flow(path)
    for step in flow.steps.values():
        if not step.asks:
            continue
        words = " ".join(flow.catalogue.template(p, lang) for p in step.prompts)
        assert KEY_WORDS.search(words), f"{step.name} in {lang}: {words}"
        for follow_up in (step.readback, step.more):
            if follow_up:
                assert KEY_WORDS.search(flow.catalogue.template(follow_up, lang)), follow_up


def test_each_language_has_its_own_voice() -> None:
    languages = load_flow().catalogue.languages
    assert (languages["zh-CN"].tts_language, languages["zh-CN"].voice) == (
        "cmn-CN",
        "Polly.Zhiyu-Neural",
    )
    assert (languages["yue"].tts_language, languages["yue"].voice) == (
        "yue-HK",
        "Google.yue-HK-Standard-A",
    )
    assert languages["en"].tts_language == "en-US"


def test_a_flow_file_can_add_its_own_prompts_for_every_language() -> None:
    flow = load_flow(BUILTIN_FLOW.parent / "examples" / "checkin_with_medicine.toml")
    catalogue: Catalogue = flow.catalogue
    assert {lang for lang in LANGUAGES if catalogue.has("ask_medicine", lang)} == set(LANGUAGES)
    assert catalogue.text("goodbye", "en") == "Thank you. Stay well. Goodbye."  # built-ins kept
