"""Pingan's storage: typed SQLAlchemy models, engines and Alembic migrations (no Flask here)."""

from storage.base import Base, UTCDateTime
from storage.engine import make_engine, make_sessionmaker
from storage.models import (
    AlertCall,
    Answer,
    AuditEntry,
    CallAttempt,
    CallEvent,
    CallMember,
    CheckIn,
    Community,
    DutyShift,
    Escalation,
    Notice,
    NoticeHeard,
    Notification,
    Resident,
    Round,
    ServiceOrder,
    Staff,
    SystemState,
)
from storage.telegram import TelegramCheckIn, TelegramLink, TelegramLinkCode, TelegramUpdate

__all__ = [
    "AlertCall",
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
    "Notice",
    "NoticeHeard",
    "Notification",
    "Resident",
    "Round",
    "ServiceOrder",
    "Staff",
    "SystemState",
    "TelegramCheckIn",
    "TelegramLink",
    "TelegramLinkCode",
    "TelegramUpdate",
    "UTCDateTime",
    "make_engine",
    "make_sessionmaker",
]
