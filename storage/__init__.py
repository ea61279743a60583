"""Pingan's storage: typed SQLAlchemy models, engines and Alembic migrations (no Flask here)."""

from storage.base import Base, UTCDateTime
from storage.engine import make_engine, make_sessionmaker
from storage.models import (
    Answer,
    AuditEntry,
    CallAttempt,
    CallEvent,
    CallMember,
    CheckIn,
    Community,
    DutyShift,
    Escalation,
    Notification,
    Resident,
    Round,
    ServiceOrder,
    Staff,
    SystemState,
)

__all__ = [
    "Answer",
    "AuditEntry",
    "Base",
    "CallAttempt",
    "CallEvent",
    "CallMember",
    "CheckIn",
    "Community",
    "DutyShift",
    "Escalation",
    "Notification",
    "Resident",
    "Round",
    "ServiceOrder",
    "Staff",
    "SystemState",
    "UTCDateTime",
    "make_engine",
    "make_sessionmaker",
]
