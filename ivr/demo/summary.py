"""The demo's printed summary: calls, check-ins, temperatures, needs and the escalation list."""

from __future__ import annotations

from collections import Counter

from flask import Flask

from ivr import settings_of
from ivr.db import session_scope
from ivr.reports import call_rows, checkin_rows, escalation_rows
from ivr.tables import format_table


def summary(app: Flask, seconds: float) -> str:
    tz = settings_of(app).tz
    with session_scope(app) as session:
        checkins = checkin_rows(session, tz)
        calls = call_rows(session, tz)
        escalations = escalation_rows(session, tz, status="open")
    answered = sum(1 for c in calls if c["status"] == "completed")
    statuses = Counter(c["status"] for c in checkins)
    lines = [
        f"Pingan demo: {len(checkins)} residents in "
        f"{len({c['community'] for c in checkins})} communities, one round, {seconds:.1f} s",
        f"Calls placed: {sum(1 for c in calls if c['call_sid'])}   answered: {answered}   "
        f"not placed: {sum(1 for c in calls if not c['call_sid'])}",
        "Check-ins: "
        + "   ".join(f"{s} {statuses[s]}" for s in ("complete", "partial", "missed", "pending")),
        "",
        format_table(
            ["community", "resident", "status", "tries", "°C", "symptoms", "needs", "callback"],
            [
                [
                    c["community"],
                    c["name"],
                    c["status"],
                    c["attempts"],
                    c["temperature_c"],
                    c["symptoms"],
                    c["needs"],
                    c["callback_requested"],
                ]
                for c in checkins
            ],
        ),
        "",
        f"Escalation list ({len(escalations)} open):",
        format_table(
            ["id", "severity", "reason", "community", "resident", "°C", "detail"],
            [
                [
                    e["id"],
                    e["severity"],
                    e["reason"],
                    e["community"],
                    e["name"],
                    e["temperature_c"],
                    str(e["detail"] or "").splitlines()[-1][:70],
                ]
                for e in _by_severity(escalations)
            ],
        ),
    ]
    return "\n".join(lines)


def _by_severity(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    rank = {"urgent": 0, "high": 1, "normal": 2}
    return sorted(rows, key=lambda e: (rank.get(str(e["severity"]), 3), str(e["opened_at"])))
