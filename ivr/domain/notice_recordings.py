"""A notice's own recording: staff upload the notice read in their voice, and calls play it
instead of TTS (the words before it, "社区通知：", stay as they are).

The file is kept under ``<recordings_dir>/notices/`` as ``<notice id>-<random>.mp3|.wav``: the
random part makes the media URL unguessable, since Twilio fetches ``<Play>`` media with a plain,
unsigned GET. Only real MP3 or WAV audio of at most ``MAX_BYTES`` is taken (checked by its first
bytes, not by its name), so a mistaken upload is refused at once, not discovered by a resident
hearing silence. A VMS call reads the notice's text by TTS: SmartCall plays only voice files
that were uploaded and reviewed in the Alibaba Cloud console (docs/carriers.md).
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from ivr.config import Settings
from ivr.domain.escalations import LifecycleError
from ivr.domain.recordings import AUDIO_TYPES, recordings_dir
from storage import Notice

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024  # a notice of under a minute is well below this, even as WAV
FOLDER = "notices"
_NAME = re.compile(r"^[0-9]+-[0-9a-f]{16}\.(mp3|wav)$")


def audio_type(data: bytes) -> str | None:
    """``.mp3`` or ``.wav`` by the file's first bytes (an ID3 tag or an MPEG frame; RIFF/WAVE)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return ".wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return ".mp3"
    return None


def refusal(data: bytes) -> str | None:
    """Why ``data`` cannot be a notice's recording: ``empty``, ``too_big``, ``not_audio``."""
    if not data:
        return "empty"
    if len(data) > MAX_BYTES:
        return "too_big"
    return None if audio_type(data) else "not_audio"


REFUSALS = {
    "empty": "the recording is empty",
    "too_big": f"a recording is at most {MAX_BYTES // 1024 // 1024} MB",
    "not_audio": "a recording must be an MP3 or WAV file",
}


def attach(settings: Settings, notice: Notice, data: bytes) -> str:
    """Keep ``data`` as ``notice``'s recording (replacing any earlier one); its file name."""
    refused = refusal(data)
    if refused:
        raise LifecycleError(REFUSALS[refused], "invalid")
    suffix = audio_type(data)
    assert suffix is not None
    folder = recordings_dir(settings) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{notice.id}-{secrets.token_hex(8)}{suffix}"
    (folder / name).write_bytes(data)
    old, notice.recording = notice.recording, name
    if old and (folder / old).exists():
        (folder / old).unlink()
    log.info("notice %s: recording %s kept (%d bytes)", notice.id, name, len(data))
    return name


def file_of(settings: Settings, name: str) -> Path | None:
    """The file behind a media URL's name, if it is one of ours and exists."""
    if not _NAME.match(name):
        return None
    path = recordings_dir(settings) / FOLDER / name
    return path if path.is_file() else None


def mimetype(path: Path) -> str:
    return AUDIO_TYPES[path.suffix]
