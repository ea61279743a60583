"""What a ``Digits`` parameter means. Twilio only sends keypad characters; anything else is a
malformed or hostile request, and must become a wrong entry rather than a crash or a stored
control character."""

from __future__ import annotations

from callflows import Keys, Silence

KEYPAD = frozenset("0123456789*#ABCD")
MAX_KEYS = 32  # Twilio's own limit on a gathered entry is far below this


def event_from_digits(raw: str) -> Keys | Silence:
    if not raw:
        return Silence()
    cleaned = "".join(ch if ch in KEYPAD else "?" for ch in raw[:MAX_KEYS])
    return Keys(cleaned)
