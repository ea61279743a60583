"""Linking a Telegram chat to a resident, their family or a staff member by a one-time code.

Staff make a code (resident page, ``pingan residents link PHONE``, ``pingan staff link PHONE``)
and hand it over; ``/start CODE`` from a chat links that chat once. A code is short-lived and
used once, so a code seen over someone's shoulder tomorrow links nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ivr.domain import audit
from storage import Resident, Staff, TelegramCheckIn, TelegramLink, TelegramLinkCode

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read out
CODE_LENGTH = 8
CODE_VALID = dt.timedelta(hours=48)
ROLES = ("resident", "contact", "staff")


@dataclass(frozen=True)
class Linked:
    """What ``/start CODE`` did: ``role`` of the new link and whose name to greet with."""

    role: str
    name: str


def new_code(
    session: Session,
    actor: str,
    now: dt.datetime,
    *,
    resident: Resident | None = None,
    staff: Staff | None = None,
    role: str = "resident",
) -> TelegramLinkCode:
    """A fresh one-time code for ``resident`` (role resident or contact) or ``staff``."""
    if role not in ROLES or (resident is None) == (staff is None):
        raise ValueError("a link code is for one resident or one staff member")
    code = TelegramLinkCode(
        code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
        resident_id=resident.id if resident else None,
        staff_id=staff.id if staff else None,
        role="staff" if staff else role,
        created_by=actor,
        created_at=now,
        expires_at=now + CODE_VALID,
    )
    session.add(code)
    session.flush()
    entity, entity_id = (
        ("staff", staff.id) if staff else ("resident", resident.id if resident else 0)
    )
    audit.record(session, now, actor, "telegram_code", entity, entity_id, code.role)
    return code


def redeem(session: Session, raw: str, chat_id: int, now: dt.datetime) -> Linked | None:
    """Link ``chat_id`` by the code ``raw``; None if it is unknown, used or expired."""
    code = session.scalars(
        select(TelegramLinkCode)
        .where(TelegramLinkCode.code == raw.strip().upper())
        .with_for_update()
    ).first()
    if code is None or code.used_at is not None or code.expires_at <= now:
        log.info("telegram chat %s: link code refused", chat_id)
        return None
    code.used_at = now
    existing = session.scalars(
        select(TelegramLink).where(
            TelegramLink.chat_id == chat_id,
            TelegramLink.resident_id == code.resident_id
            if code.resident_id
            else TelegramLink.staff_id == code.staff_id,
        )
    ).first()
    link = existing or TelegramLink(
        chat_id=chat_id,
        resident_id=code.resident_id,
        staff_id=code.staff_id,
        role=code.role,
        linked_at=now,
    )
    link.role = code.role
    session.add(link)
    session.flush()
    entity = "staff" if code.staff_id else "resident"
    entity_id = code.staff_id or code.resident_id
    audit.record(session, now, "telegram", "telegram_linked", entity, entity_id, code.role)
    name = link.staff.name if link.staff else (link.resident.name if link.resident else "")
    log.info("telegram chat %s linked to %s %s (%s)", chat_id, entity, entity_id, code.role)
    return Linked(code.role, name)


def links_of_chat(session: Session, chat_id: int) -> list[TelegramLink]:
    return list(
        session.scalars(
            select(TelegramLink).where(TelegramLink.chat_id == chat_id).order_by(TelegramLink.id)
        )
    )


def unlink_chat(session: Session, chat_id: int, actor: str, now: dt.datetime) -> int:
    """Everything ``chat_id`` is linked to, unlinked; returns how many links ended."""
    links = links_of_chat(session, chat_id)
    for link in links:
        entity = "staff" if link.staff_id else "resident"
        audit.record(
            session,
            now,
            actor,
            "telegram_unlinked",
            entity,
            link.staff_id or link.resident_id,
            link.role,
        )
    session.execute(delete(TelegramLink).where(TelegramLink.chat_id == chat_id))
    _end_chats(session, TelegramCheckIn.chat_id == chat_id, now)
    log.info("telegram chat %s unlinked (%d links)", chat_id, len(links))
    return len(links)


def unlink_resident(session: Session, resident: Resident, actor: str, now: dt.datetime) -> int:
    """Every chat linked to ``resident`` (their own and their family's), unlinked."""
    result = session.execute(delete(TelegramLink).where(TelegramLink.resident_id == resident.id))
    _end_chats(session, TelegramCheckIn.resident_id == resident.id, now)
    count = int(result.rowcount)  # type: ignore[attr-defined]
    audit.record(session, now, actor, "telegram_unlinked", "resident", resident.id, f"{count}")
    return count


def _end_chats(session: Session, which: ColumnElement[bool], now: dt.datetime) -> None:
    """Chat check-ins not yet finished end with the link: the call takes them over (their
    phone call is already scheduled, at the end of the grace period at the latest)."""
    session.execute(
        update(TelegramCheckIn)
        .where(which, TelegramCheckIn.status.in_(("due", "open")))
        .values(status="over", updated_at=now)
    )


def resident_chat(session: Session, resident_id: int) -> int | None:
    """The chat a resident's check-in goes to: their own, else the first family chat."""
    links = session.scalars(
        select(TelegramLink)
        .where(TelegramLink.resident_id == resident_id)
        .order_by(TelegramLink.id)
    ).all()
    own = [link for link in links if link.role == "resident"]
    chosen = (own or list(links))[:1]
    return chosen[0].chat_id if chosen else None


def staff_chats(session: Session, phones: list[str]) -> list[int]:
    """The chats of the active staff with these phones, in order, once each."""
    if not phones:
        return []
    rows = session.execute(
        select(TelegramLink.chat_id, Staff.phone)
        .join(Staff, Staff.id == TelegramLink.staff_id)
        .where(Staff.phone.in_(phones), Staff.active.is_(True))
    ).all()
    by_phone: dict[str, list[int]] = {}
    for chat_id, phone in rows:
        by_phone.setdefault(phone, []).append(chat_id)
    return list(dict.fromkeys(c for p in phones for c in by_phone.get(p, [])))


def staff_of_chat(session: Session, chat_id: int) -> Staff | None:
    return session.scalars(
        select(Staff)
        .join(TelegramLink, TelegramLink.staff_id == Staff.id)
        .where(TelegramLink.chat_id == chat_id, Staff.active.is_(True))
    ).first()
