"""Every sentence a caller can hear, per language, keyed by prompt name.

The catalogues live in ``prompts/<lang>.toml``; a flow file may add or override prompts. Only
this module turns a prompt name plus arguments into words, so the read-back of a temperature
sounds the same in a TTS prompt, a transcript and a record sheet.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from callflows.speech import say_digits, say_number, say_time

CATALOGUE_DIR = Path(__file__).with_name("prompts")
LANGUAGES = ("zh-CN", "en", "yue")
DEFAULT_LANGUAGE = "zh-CN"

# How each placeholder is spoken: numbers in words, phone numbers digit by digit.
_NUMBER_SLOTS = frozenset({"temperature", "value"})
_DIGIT_SLOTS = frozenset({"hotline"})
_TIME_SLOTS = frozenset({"time"})  # a local time of day, "10:30"
# A list of names (a household's members), given joined by the Chinese enumeration comma.
_LIST_SLOTS = frozenset({"names"})
_LIST_SEPARATORS = {"en": ", "}


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    tts_language: str
    voice: str


@dataclass(frozen=True)
class Segment:
    """A piece of a prompt: fixed ``text`` (recordable) or a spoken ``slot`` value."""

    text: str
    slot: str | None = None


@dataclass(frozen=True)
class Catalogue:
    languages: Mapping[str, Language]
    prompts: Mapping[str, Mapping[str, str]]

    def resolve_language(self, lang: str | None) -> str:
        """The catalogue language for a resident's ``language`` (``zh``→``zh-CN``, …)."""
        if not lang:
            return DEFAULT_LANGUAGE
        if lang in self.languages:
            return lang
        aliases = {
            "zh": "zh-CN",
            "cmn": "zh-CN",
            "zh-hans": "zh-CN",
            "en-us": "en",
            "en-gb": "en",
            "yue-hk": "yue",
            "zh-hk": "yue",
            "cantonese": "yue",
        }
        return aliases.get(lang.lower(), DEFAULT_LANGUAGE)

    def has(self, name: str, lang: str) -> bool:
        return name in self.prompts.get(lang, {})

    def template(self, name: str, lang: str) -> str:
        lang = self.resolve_language(lang)
        texts = self.prompts.get(lang, {})
        if name in texts:
            return texts[name]
        return self.prompts[DEFAULT_LANGUAGE].get(name, name)

    def segments(self, name: str, lang: str, args: Mapping[str, str]) -> list[Segment]:
        """The prompt split at its placeholders, each filled as spoken in ``lang``."""
        lang = self.resolve_language(lang)
        out: list[Segment] = []
        for literal, slot, _spec, _conv in string.Formatter().parse(self.template(name, lang)):
            if literal:
                out.append(Segment(literal))
            if slot:
                out.append(Segment(spoken_value(slot, args.get(slot, ""), lang), slot=slot))
        return out

    def text(self, name: str, lang: str, args: Mapping[str, str] | None = None) -> str:
        return "".join(s.text for s in self.segments(name, lang, args or {}))


def spoken_value(slot: str, value: str, lang: str) -> str:
    if slot in _NUMBER_SLOTS:
        try:
            return say_number(Decimal(value), lang)
        except InvalidOperation:
            return value
    if slot in _DIGIT_SLOTS:
        return say_digits(value, lang)
    if slot in _TIME_SLOTS:
        return say_time(value, lang)
    if slot in _LIST_SLOTS:
        return value.replace("、", _LIST_SEPARATORS.get(lang, "、"))
    return value


def load_catalogue(extra: Mapping[str, Any] | None = None) -> Catalogue:
    """The built-in catalogues, with a flow's own ``[prompts.<lang>]`` laid over them."""
    languages: dict[str, Language] = {}
    prompts: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        meta = data["language"]
        code = str(meta["code"])
        languages[code] = Language(
            code, str(meta["name"]), str(meta["tts_language"]), str(meta["voice"])
        )
        prompts[code] = {str(k): str(v) for k, v in data["prompts"].items()}
    for lang, texts in (extra or {}).items():
        if isinstance(texts, Mapping):
            prompts.setdefault(str(lang), {}).update({str(k): str(v) for k, v in texts.items()})
    return Catalogue(languages, prompts)
