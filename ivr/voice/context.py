"""How a call sounds for this resident: language, voice, community name and hotline."""

from __future__ import annotations

from callflows import Flow
from ivr.config import Settings
from ivr.voice.twiml import Voice
from storage import CallAttempt


def voice_for(flow: Flow, lang: str | None, settings: Settings) -> Voice:
    code = flow.catalogue.resolve_language(lang or settings.language)
    meta = flow.catalogue.languages[code]
    return Voice(code, meta.tts_language, meta.voice, settings.speech_rate)


def prompt_args(attempt: CallAttempt) -> dict[str, str]:
    resident = attempt.resident
    if resident is None:
        return {"community": "", "hotline": ""}
    community = resident.community
    hotline = community.hotline or community.duty_phone or ""
    return {"community": community.name, "hotline": _national(hotline)}


def _national(e164: str) -> str:
    """Read a Chinese number as people dial it at home (0371…), not with +86."""
    return (
        "0" + e164[3:]
        if e164.startswith("+86") and not e164.startswith("+861")
        else (e164[3:] if e164.startswith("+86") else e164)
    )
