"""Everything about one resident or one call, loaded in a handful of queries (no N+1)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ivr.web.dashboard.charts import Reading
from ivr.web.dashboard.labels import NEEDS, label, listing, yes_no
from storage import (
    Answer,
    AuditEntry,
    CallAttempt,
    CheckIn,
    Escalation,
    Resident,
    ServiceOrder,
)

AUDIT_SHOWN = 50


@dataclass
class ResidentHistory:
    checkins: list[CheckIn]
    calls: list[CallAttempt]
    answers: dict[int, list[Answer]]  # attempt id → answers keyed in that call
    escalations: list[Escalation]
    orders: list[ServiceOrder]
    audit: list[AuditEntry]
    readings: list[Reading] = field(default_factory=list)


def resident_history(session: Session, resident: Resident, tz: dt.tzinfo) -> ResidentHistory:
    rid = resident.id
    checkins = list(
        session.scalars(
            select(CheckIn)
            .where(CheckIn.resident_id == rid)
            .order_by(CheckIn.local_date, CheckIn.id)
        )
    )
    calls = list(
        session.scalars(
            select(CallAttempt)
            .options(selectinload(CallAttempt.events))
            .where(CallAttempt.resident_id == rid)
            .order_by(CallAttempt.created_at.desc(), CallAttempt.id.desc())
        )
    )
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in session.scalars(
        select(Answer).where(Answer.resident_id == rid).order_by(Answer.at, Answer.id)
    ):
        answers[answer.attempt_id].append(answer)
    escalations = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.resident_id == rid)
            .order_by(Escalation.opened_at.desc())
        )
    )
    orders = list(
        session.scalars(
            select(ServiceOrder)
            .where(ServiceOrder.resident_id == rid)
            .order_by(ServiceOrder.opened_at.desc())
        )
    )
    audit = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "resident", AuditEntry.entity_id == rid)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(AUDIT_SHOWN)
        )
    )
    readings = [
        Reading(c.updated_at.astimezone(tz), Decimal(c.temperature_c))
        for c in checkins
        if c.temperature_c is not None
    ]
    return ResidentHistory(checkins, calls, answers, escalations, orders, audit, readings)


def chart_period(
    resident: Resident, history: ResidentHistory, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The isolation period; without one, the days that have check-ins (at least a week)."""
    days = [c.local_date for c in history.checkins]
    first = resident.isolation_start or (min(days) if days else today)
    last = resident.isolation_end() or max([*days, today])
    if not resident.isolation_start and (last - first).days < 6:
        first = last - dt.timedelta(days=6)
    return first, max(first, last)


def call_answers(session: Session, attempt: CallAttempt) -> list[Answer]:
    query = select(Answer).where(Answer.attempt_id == attempt.id).order_by(Answer.at, Answer.id)
    return list(session.scalars(query))


def answer_text(value: Any, key: str = "") -> str:
    """An answer as staff read it: yes/no, needs by their names; a custom flow's as keyed."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list):
        return listing(answer_text(v, key) for v in value)
    if key == "needs":
        return label(NEEDS, str(value))
    return "" if value is None else str(value)
