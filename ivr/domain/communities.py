"""A community's settings as staff type them (admin pages and ``pingan communities set``).

One set of rules for both: phones become E.164, "9:00，16:00" becomes "09:00,16:00", a calling
window is a start before an end, a language is one the prompts are written in. A wrong value
raises ``CommunityError`` naming the field, which each caller words for its own reader.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy.orm import Session

from callflows.catalogue import LANGUAGES
from ivr.config import parse_times, parse_window
from ivr.domain import audit
from ivr.phones import PhoneError, normalize_phone
from storage import Community

EDITABLE = ("hotline", "duty_phone", "round_times", "window_start", "window_end", "language")


class CommunityError(ValueError):
    """A setting that cannot be stored. ``field``: hotline | duty_phone | round_times |
    window | window_half | language."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def clock_time(raw: str) -> str:
    """ "9:30" or "９：３０" as "09:30" (what ``datetime.time.fromisoformat`` reads)."""
    value = unicodedata.normalize("NFKC", raw).strip()
    return "0" + value if len(value) == 4 and value[1] == ":" else value


def phone(raw: str | None, field: str, region: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalize_phone(raw, region)
    except PhoneError:
        raise CommunityError(f"{field} {raw.strip()!r} is not a phone number", field) from None


def round_times(raw: str | None) -> str | None:
    """ "9:00，16:00" → "09:00,16:00"; blank → None (the deployment's default)."""
    if raw is None or not raw.strip():
        return None
    parts = unicodedata.normalize("NFKC", raw).replace("、", ",").split(",")
    try:
        parsed = parse_times(",".join(clock_time(p) for p in parts if p.strip()))
    except ValueError:
        raise CommunityError(
            f"round times {raw!r} should read 09:00,16:00", "round_times"
        ) from None
    return ",".join(t.strftime("%H:%M") for t in parsed)


def window(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """A calling window's two ends, both or neither; blank → (None, None)."""
    first = clock_time(start) if start and start.strip() else None
    last = clock_time(end) if end and end.strip() else None
    if (first is None) != (last is None):
        raise CommunityError("a calling window needs both a start and an end", "window_half")
    if first and last:
        try:
            parse_window(f"{first}-{last}")
        except ValueError:
            message = f"window {first}-{last} should read 08:00-20:00 and end after it starts"
            raise CommunityError(message, "window") from None
    return first, last


def window_of(raw: str) -> tuple[str | None, str | None]:
    """ "08:00-20:00" (or "8:00～20:00") as its two ends; blank → (None, None)."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return None, None
    for dash in ("~", "–", "—", "至"):
        value = value.replace(dash, "-")
    start, sep, end = value.partition("-")
    if not sep:
        raise CommunityError(f"window {raw!r} should read 08:00-20:00", "window")
    return window(start, end)


def language(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    for known in LANGUAGES:
        if value.lower() == known.lower():
            return known
    raise CommunityError(f"language {value!r} is not one of {', '.join(LANGUAGES)}", "language")


def apply(
    session: Session,
    community: Community,
    values: dict[str, str | None],
    actor: str,
    now: dt.datetime,
    via: str,
) -> list[str]:
    """Store the (already checked) ``values``; returns the fields that changed, audited."""
    changed = [k for k, v in values.items() if getattr(community, k) != v]
    for key in changed:
        setattr(community, key, values[key])
    if changed:
        detail = f"{', '.join(changed)} (via {via})"
        audit.record(session, now, actor, "edited", "community", community.id, detail)
    return changed
