"""The audit trail: one row per change a person or the system made, with who and when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage import AuditEntry

SYSTEM = "system"


def record(
    session: Session,
    now: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=now, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail
        )
    )
