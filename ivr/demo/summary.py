"""The demo's printed summary: calls, check-ins, the escalation list, staff SMS and orders."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.orders import order_rows
from ivr.phones import display_phone
from ivr.reports import call_rows, checkin_rows, escalation_rows
from ivr.tables import format_table
from storage import Notification, Staff


def summary(app: Flask, seconds: float) -> str:
    tz = settings_of(app).tz
    with session_scope(app) as session:
        checkins = checkin_rows(session, tz, flow=flow_of(app))
        calls = call_rows(session, tz)
        escalations = escalation_rows(session, tz, status="open")
        texts = _texts(session, settings_of(app).phone_region)
        orders = order_rows(session, tz)
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
        "",
        f"SMS sent to staff on duty ({len(texts)}):",
        format_table(["to", "phone", "status", "message"], texts),
        "",
        f"Service orders ({len(orders)}):",
        format_table(
            ["id", "community", "resident", "address", "need", "status"],
            [
                [o["id"], o["community"], o["name"], o["address"], o["need"], o["status"]]
                for o in orders
            ],
        ),
    ]
    return "\n".join(lines)


def _texts(session: Session, region: str) -> list[list[Any]]:
    """Every SMS alert with the staff member's name (or "family" for an emergency contact)."""
    names = {phone: name for phone, name in session.execute(select(Staff.phone, Staff.name))}
    query = (
        select(Notification)
        .where(Notification.channel == "sms")
        .order_by(Notification.escalation_id, Notification.id)
    )
    return [
        [names.get(n.recipient, n.kind), display_phone(n.recipient, region), n.status, n.body]
        for n in session.scalars(query)
    ]


def _by_severity(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    rank = {"urgent": 0, "high": 1, "normal": 2}
    return sorted(rows, key=lambda e: (rank.get(str(e["severity"]), 3), str(e["opened_at"])))
