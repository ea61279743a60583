"""Builders for the escalation, alert and order tests (plain functions, not fixtures)."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from ivr import settings_of
from ivr.carriers.simulator import SimulatedCarrier
from ivr.db import session_scope
from ivr.domain.escalations import raise_escalation
from ivr.domain.staff import add_staff
from storage import Community, Escalation, Notification, Resident
from tests.helpers import add_community


def staff_member(
    app: Flask, name: str, phone: str, community: str | None = "中原社区", role: str = "staff"
) -> int:
    community_id = add_community(app, community) if community else None
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        return add_staff(session, name, phone, community_id, role, now).id


def open_escalation(
    app: Flask,
    resident_id: int,
    reason: str = "high_fever",
    severity: str = "urgent",
    temperature: str | None = "39.2",
    detail: str = "39.2 °C ≥ 38.5 °C",
) -> int:
    """Raise an escalation the way the rules do (in a transaction of its own)."""
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        raised = raise_escalation(
            session,
            resident,
            reason,
            severity,
            detail,
            now,
            temperature=Decimal(temperature) if temperature else None,
            settings=settings_of(app),
        )
        return raised.escalation.id


def escalation(app: Flask, escalation_id: int) -> Escalation:
    with session_scope(app) as session:
        found = session.get(Escalation, escalation_id)
        assert found is not None
        return found


def notifications(app: Flask, **where: object) -> list[Notification]:
    with session_scope(app) as session:
        query = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list(session.scalars(query))


def texts_to(carrier: SimulatedCarrier, phone: str) -> list[str]:
    return [m.body for m in carrier.messages if m.to == phone]


def set_chat(app: Flask, url: str, chat_format: str, community: str = "中原社区") -> None:
    with session_scope(app) as session:
        found = session.scalars(select(Community).where(Community.name == community)).one()
        found.chat_webhook_url, found.chat_format = url, chat_format
