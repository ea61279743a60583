"""Linking a Telegram chat to a resident, their family or a staff member by a one-time code.

Staff make a code (resident page, ``pingan residents link PHONE``, ``pingan staff link PHONE``)
and hand it over; ``/start CODE`` from a chat links that chat once. A code is short-lived and
used once, so a code seen over someone's shoulder tomorrow links nothing.

A household code (``--household``) links the chat to everyone registered with the resident's
phone: one link, kept on that resident and marked ``household``, that covers whoever shares
the phone when a round starts, so a member added later needs no new code.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ivr.carriers.telegram import members
from ivr.domain import audit, households
from storage import (
    Resident,
    Staff,
    TelegramCheckIn,
    TelegramLink,
    TelegramLinkCode,
    TelegramMember,
)

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read out
CODE_LENGTH = 8
CODE_VALID = dt.timedelta(hours=48)
ROLES = ("resident", "contact", "staff")


@dataclass(frozen=True)
class Linked:
    """What ``/start CODE`` did: ``role`` of the new link and whose name(s) to greet with."""

    role: str
    name: str
    household: bool = False


def new_code(
    session: Session,
    actor: str,
    now: dt.datetime,
    *,
    resident: Resident | None = None,
    staff: Staff | None = None,
    role: str = "resident",
    household: bool = False,
) -> TelegramLinkCode:
    """A fresh one-time code for ``resident`` (role resident or contact; with ``household``,
    for everyone sharing their phone) or ``staff``."""
    if role not in ROLES or (resident is None) == (staff is None):
        raise ValueError("a link code is for one resident or one staff member")
    if household and (resident is None or len(households.housemates(session, resident.phone)) < 2):
        raise ValueError("a household code is for a resident who shares their phone")
    code = TelegramLinkCode(
        code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
        resident_id=resident.id if resident else None,
        staff_id=staff.id if staff else None,
        role="staff" if staff else role,
        household=household,
        created_by=actor,
        created_at=now,
        expires_at=now + CODE_VALID,
    )
    session.add(code)
    session.flush()
    entity, entity_id = (
        ("staff", staff.id) if staff else ("resident", resident.id if resident else 0)
    )
    what = f"{code.role}, household" if household else code.role
    audit.record(session, now, actor, "telegram_code", entity, entity_id, what)
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
    # A chat linked to a household stays so until it is unlinked: a later code for one of
    # its members must not quietly leave the others out.
    link.household = link.household or code.household
    session.add(link)
    session.flush()
    entity = "staff" if code.staff_id else "resident"
    entity_id = code.staff_id or code.resident_id
    what = f"{code.role}, household" if link.household else code.role
    audit.record(session, now, "telegram", "telegram_linked", entity, entity_id, what)
    log.info("telegram chat %s linked to %s %s (%s)", chat_id, entity, entity_id, what)
    return Linked(code.role, _greeted(session, link), link.household)


def _greeted(session: Session, link: TelegramLink) -> str:
    if link.staff is not None:
        return link.staff.name
    if link.resident is None:
        return ""
    if link.household:
        return "、".join(r.name for r in households.housemates(session, link.resident.phone))
    return link.resident.name


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
    """Every chat linked to ``resident`` (their own, their family's and their household's),
    unlinked."""
    ids = list(session.scalars(select(TelegramLink.id).where(covering(resident))))
    session.execute(delete(TelegramLink).where(TelegramLink.id.in_(ids)))
    asked = select(TelegramMember.talk_id).where(TelegramMember.resident_id == resident.id)
    _end_chats(
        session,
        or_(TelegramCheckIn.resident_id == resident.id, TelegramCheckIn.id.in_(asked)),
        now,
    )
    audit.record(session, now, actor, "telegram_unlinked", "resident", resident.id, f"{len(ids)}")
    return len(ids)


def covering(resident: Resident) -> ColumnElement[bool]:
    """The links that reach ``resident``: theirs, and household links of their phone."""
    housemates = select(Resident.id).where(Resident.phone == resident.phone)
    return or_(
        TelegramLink.resident_id == resident.id,
        and_(TelegramLink.household.is_(True), TelegramLink.resident_id.in_(housemates)),
    )


def _end_chats(session: Session, which: ColumnElement[bool], now: dt.datetime) -> None:
    """Chat check-ins not yet finished end with the link: the call takes them over at once
    for the members still due (see ``members.call_now``)."""
    query = select(TelegramCheckIn).where(which, TelegramCheckIn.status.in_(("due", "open")))
    for talk in session.scalars(query.with_for_update()).all():
        talk.status, talk.updated_at = "over", now
        members.call_now(session, talk, now)


def resident_chat(session: Session, resident_id: int) -> int | None:
    """The chat a resident's check-in goes to: their own, else the first family chat."""
    links = session.scalars(
        select(TelegramLink)
        .where(TelegramLink.resident_id == resident_id, TelegramLink.household.is_(False))
        .order_by(TelegramLink.id)
    ).all()
    return _chosen(list(links))


def household_chats(session: Session, phones: list[str]) -> dict[str, int]:
    """For each of these phones with a household link, the chat its check-ins go to (one
    query): a member's own before a family member's, the first linked first."""
    if not phones:
        return {}
    rows = session.execute(
        select(Resident.phone, TelegramLink)
        .join(Resident, Resident.id == TelegramLink.resident_id)
        .where(TelegramLink.household.is_(True), Resident.phone.in_(phones))
        .order_by(TelegramLink.id)
    ).all()
    by_phone: dict[str, list[TelegramLink]] = {}
    for phone, link in rows:
        by_phone.setdefault(phone, []).append(link)
    chosen = {phone: _chosen(links) for phone, links in by_phone.items()}
    return {phone: chat for phone, chat in chosen.items() if chat is not None}


def _chosen(links: list[TelegramLink]) -> int | None:
    own = [link for link in links if link.role == "resident"]
    chosen = (own or links)[:1]
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
