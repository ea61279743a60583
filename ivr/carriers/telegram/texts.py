"""The chat's own words (``texts/<lang>.toml``), over the call's prompt catalogue."""

from __future__ import annotations

import functools
import tomllib
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from callflows import Flow

TEXTS_DIR = Path(__file__).with_name("texts")
DEFAULT = "zh-CN"


@functools.cache
def _load(lang: str) -> dict[str, dict[str, str]]:
    path = TEXTS_DIR / f"{lang}.toml"
    if not path.exists():
        path = TEXTS_DIR / f"{DEFAULT}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {part: {str(k): str(v) for k, v in data[part].items()} for part in ("prompts", "words")}


def word(lang: str, key: str, fallback: str | None = None, **args: str) -> str:
    """A button label or a reply; ``fallback`` (else the key) when the language lacks it."""
    words = _load(lang)["words"]
    template = words.get(key) or _load(DEFAULT)["words"].get(key) or fallback or key
    return template.format_map(defaultdict(str, args))


def prompt(flow: Flow, name: str, lang: str, args: Mapping[str, str]) -> str:
    """A flow prompt as a chat says it: the chat's version if it has one, else the call's
    text with its values written as digits (36.5, not 三十六点五)."""
    chat = _load(lang)["prompts"]
    template = chat[name] if name in chat else flow.catalogue.template(name, lang)
    return template.format_map(defaultdict(str, args))
