"""What an escalation's events were, kept as data (``Escalation.facts``, one dict per event)
beside the English ``detail`` line, so that every screen and text says them in its reader's
words (``ivr/web/dashboard/escalation_words.py``).

Kinds: ``temperature`` and ``rising`` and ``answer`` (the rules' findings, ``callflows/rules.py``),
``attempts`` (what was tried before a resident counted as unreachable), ``carrier_refused`` (the
carrier refused the number), ``text`` (a line kept as written: rows older than the facts, whose
wording no rule recognised).
"""

from __future__ import annotations

from typing import Any

from storage import CheckIn


def attempts(checkin: CheckIn) -> dict[str, Any]:
    """Every call of ``checkin``: when (UTC), how it ended, as the call list stores it."""
    calls = [
        {
            "inbound": attempt.direction == "inbound",
            "no": attempt.attempt_no,
            "at": (attempt.placed_at or attempt.created_at).isoformat(),
            "status": attempt.status or attempt.state,
            "answered_by": attempt.answered_by if attempt.answered_by != "human" else None,
            "outcome": attempt.outcome if attempt.status == "completed" else None,
            "error": attempt.carrier_error,
        }
        for attempt in checkin.attempts_list
    ]
    return {"kind": "attempts", "calls": calls}


def carrier_refused(code: int | None, message: str) -> dict[str, Any]:
    return {"kind": "carrier_refused", "code": code, "message": message}


def text(line: str) -> dict[str, Any]:
    return {"kind": "text", "text": line}
