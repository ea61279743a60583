"""Recorded prompts: audio files that replace text-to-speech, per language, with TTS fallback.

Files live in ``<recordings_dir>/<lang>/`` (``PINGAN_RECORDINGS_DIR``, default ``recordings`` in
the instance folder), as ``.mp3`` or ``.wav``:

* a prompt without placeholders is one file named after it: ``goodbye.mp3``;
* a prompt with placeholders (a temperature, the community name) is split there, and each fixed
  part is one numbered file: ``temperature_readback.1.mp3``, ``temperature_readback.2.mp3``. The
  values between them are spoken by TTS in the resident's language. Parts that are only
  punctuation need no file.

A prompt is played from recordings only when every file it needs exists; otherwise the whole
prompt is spoken by TTS, so a caller never hears half a sentence in each voice.
``pingan prompts record-sheet`` prints the exact file names with the words to record.

The listing of a folder is cached and read again only when the folder changes (its mtime), so
a webhook answering a live call costs one ``stat`` per language, not a directory scan.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from callflows import Catalogue, Segment
from ivr.config import Settings

AUDIO_TYPES: Mapping[str, str] = {".mp3": "audio/mpeg", ".wav": "audio/wav"}
_FILE_NAME = re.compile(r"^([A-Za-z0-9_-]+(?:\.[0-9]+)?)(\.mp3|\.wav)$")


@dataclass(frozen=True)
class Recording:
    file_name: str  # e.g. "goodbye.mp3"
    version: int  # the file's mtime: changes when it is recorded again (media URLs carry it)


@dataclass(frozen=True)
class Part:
    """One piece of a prompt: fixed words (recorded as ``stem``) or a value TTS speaks."""

    segment: Segment
    stem: str | None  # None: spoken by TTS (a placeholder value), or nothing to record


def recordings_dir(settings: Settings) -> Path:
    folder = settings.recordings_dir or str(Path(settings.instance_path) / "recordings")
    return Path(folder)


def parts(catalogue: Catalogue, name: str, lang: str, args: Mapping[str, str]) -> list[Part]:
    """The prompt split for recording: fixed parts get file stems, values do not."""
    segments = catalogue.segments(name, lang, args)
    if not any(s.slot for s in segments):
        return [Part(s, name) for s in segments]
    out: list[Part] = []
    number = 0
    for segment in segments:
        if segment.slot is None and _speakable(segment.text):
            number += 1
            out.append(Part(segment, f"{name}.{number}"))
        else:
            out.append(Part(segment, None))
    return out


def stems(catalogue: Catalogue, name: str, lang: str) -> list[tuple[str, str]]:
    """(file stem, words) for each file a prompt needs, in order."""
    return [(p.stem, p.segment.text) for p in parts(catalogue, name, lang, {}) if p.stem]


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


class Recordings:
    """The recorded prompt files under one folder, one sub-folder per language."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._listings: dict[str, tuple[int, dict[str, Recording]]] = {}

    def listing(self, lang: str) -> Mapping[str, Recording]:
        """Stem → recording for ``lang`` (``.mp3`` wins over ``.wav``)."""
        folder = self.root / lang
        try:
            changed = folder.stat().st_mtime_ns
        except OSError:
            return {}
        with self._lock:
            cached = self._listings.get(lang)
            if cached is not None and cached[0] == changed:
                return cached[1]
        found = _scan(folder)
        with self._lock:
            self._listings[lang] = (changed, found)
        return found

    def find(self, lang: str, stem: str) -> Recording | None:
        return self.listing(lang).get(stem)

    def file(self, lang: str, file_name: str) -> Path | None:
        """The file to serve for a media request, only if it is a listed recording."""
        match = _FILE_NAME.match(file_name)
        if match is None or "/" in lang or lang.startswith("."):
            return None
        found = self.listing(lang).get(match.group(1))
        return self.root / lang / file_name if found and found.file_name == file_name else None


def _scan(folder: Path) -> dict[str, Recording]:
    found: dict[str, Recording] = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.suffix != ".mp3"):
        match = _FILE_NAME.match(path.name)
        if match is None or not path.is_file() or match.group(1) in found:
            continue
        found[match.group(1)] = Recording(path.name, path.stat().st_mtime_ns)
    return found


def recordings_of(app: Flask) -> Recordings:
    """The app's recordings (made on first use; a webhook process keeps its cache)."""
    existing: Recordings | None = app.extensions.get("pingan.recordings")
    if existing is None:
        settings: Settings = app.extensions["pingan.settings"]
        existing = Recordings(recordings_dir(settings))
        app.extensions["pingan.recordings"] = existing
    return existing
