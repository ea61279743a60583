"""Removing the personal data of residents released long ago (``pingan purge``).

Once a resident's isolation is over and the retention period has passed, nothing about them as
a person is kept: who they are, where they live, how to reach them, what staff wrote about
them. What the community needs for its statistics stays, attached to the anonymised resident
row: check-ins, temperatures and answers, call attempts and their outcomes, escalations and
orders (without their free text).

1. Resident: name "已清除", phone a unique placeholder (the column is unique and required),
   address, emergency contact, notes, preferred times, hold reason and phone error emptied.
2. Their calls: the number dialled and the flow's working state emptied; call events keep
   their keys (temperatures, menu choices) unless they hold a phone number.
3. Their escalations and orders: phone numbers, the name and the staff's notes removed; the
   notifications about them lose recipient and text.
4. Audit entries about them keep who did what and when; their details are dropped (about the
   person) or scrubbed as above (about an escalation or order). One new entry records how many
   residents were purged, not who.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.domain import audit
from ivr.phones import E164_IN_TEXT, display_phone
from storage import (
    AuditEntry,
    CallAttempt,
    CallEvent,
    Escalation,
    Notification,
    Resident,
    ServiceOrder,
)

PURGED_NAME = "已清除"
PLACEHOLDER = "purged-"  # + resident id: unique, and marks the row as already purged
REMOVED = "[已清除]"
# Digits that may be a phone number keyed on the telephone (the identify flow asks for one).
_DIALLED = re.compile(r"\d{7,}")


@dataclass(frozen=True)
class Purged:
    residents: int
    calls: int
    escalations: int
    notifications: int


def due_for_purge(session: Session, released_before: dt.datetime) -> list[Resident]:
    query = select(Resident).where(
        Resident.released_at < released_before, ~Resident.phone.startswith(PLACEHOLDER)
    )
    return list(session.scalars(query.order_by(Resident.id)))


def purge_released(
    session: Session, released_before: dt.datetime, now: dt.datetime, actor: str = audit.SYSTEM
) -> Purged:
    """Anonymise every resident released before ``released_before``; the caller commits."""
    residents = due_for_purge(session, released_before)
    if not residents:
        return Purged(0, 0, 0, 0)
    calls = escalations = notifications = 0
    for resident in residents:
        words = _identifying(resident)
        calls += _purge_calls(session, resident, words)
        found, sent = _purge_escalations(session, resident, words)
        escalations, notifications = escalations + found, notifications + sent
        _purge_orders(session, resident)
        _purge_audit(session, resident, words)
        _purge_person(resident, now)
    audit.record(
        session,
        now,
        actor,
        "purged",
        "resident",
        None,
        f"{len(residents)} residents released before {released_before.date().isoformat()}",
    )
    return Purged(len(residents), calls, escalations, notifications)


def scrub(text: str | None, words: Iterable[str]) -> str | None:
    """``text`` without any phone number or any of ``words`` (a name, a number as written)."""
    if text is None:
        return None
    for word in words:
        if word:
            text = text.replace(word, REMOVED)
    return E164_IN_TEXT.sub(REMOVED, text)


def _identifying(resident: Resident) -> list[str]:
    """How the resident may appear in free text, longest first (so "+86138…" goes whole)."""
    phone = resident.phone
    national = display_phone(phone)
    words = {resident.name, phone, national, national.replace(" ", ""), phone.lstrip("+")}
    if resident.emergency_contact:
        words.add(resident.emergency_contact)
    return sorted((w for w in words if len(w) >= 2), key=len, reverse=True)


def _purge_person(resident: Resident, now: dt.datetime) -> None:
    resident.name = PURGED_NAME
    resident.phone = f"{PLACEHOLDER}{resident.id}"
    resident.address = resident.emergency_contact = resident.notes = None
    resident.preferred_times = resident.hold_reason = resident.phone_error = None
    resident.release_reason = scrub(resident.release_reason, [])
    resident.updated_at = now


def _purge_calls(session: Session, resident: Resident, words: list[str]) -> int:
    attempts = list(
        session.scalars(
            select(CallAttempt).where(
                or_(CallAttempt.resident_id == resident.id, CallAttempt.phone == resident.phone)
            )
        )
    )
    for attempt in attempts:
        attempt.phone = None
        attempt.flow_state = None  # holds whatever was keyed, a phone number included
        attempt.carrier_error = scrub(attempt.carrier_error, words)
    ids = [a.id for a in attempts]
    for event in session.scalars(select(CallEvent).where(CallEvent.attempt_id.in_(ids))):
        if event.detail and (_DIALLED.search(event.detail) or E164_IN_TEXT.search(event.detail)):
            event.detail = None
    return len(attempts)


def _purge_escalations(session: Session, resident: Resident, words: list[str]) -> tuple[int, int]:
    found = list(session.scalars(select(Escalation).where(Escalation.resident_id == resident.id)))
    for escalation in found:
        escalation.detail = scrub(escalation.detail, words) or ""
        escalation.facts = [_scrubbed(fact, words) for fact in escalation.facts]
        escalation.note = None
    ids = [e.id for e in found]
    sent = list(session.scalars(select(Notification).where(Notification.escalation_id.in_(ids))))
    for notification in sent:
        # Unique per escalation, channel, recipient and kind: each keeps a placeholder of its own.
        notification.recipient = f"{PLACEHOLDER}{notification.id}"
        notification.body = ""
        notification.error = scrub(notification.error, words)
    return len(found), len(sent)


def _scrubbed(fact: dict[str, Any], words: list[str]) -> dict[str, Any]:
    """A fact's free text (a carrier's message, a line kept as written) without the person."""
    return {k: scrub(v, words) if isinstance(v, str) else v for k, v in fact.items()}


def _purge_orders(session: Session, resident: Resident) -> None:
    for order in session.scalars(
        select(ServiceOrder).where(ServiceOrder.resident_id == resident.id)
    ):
        order.note = None


def _purge_audit(session: Session, resident: Resident, words: list[str]) -> None:
    escalations = select(Escalation.id).where(Escalation.resident_id == resident.id)
    orders = select(ServiceOrder.id).where(ServiceOrder.resident_id == resident.id)
    about = or_(
        (AuditEntry.entity == "resident") & (AuditEntry.entity_id == resident.id),
        (AuditEntry.entity == "escalation") & AuditEntry.entity_id.in_(escalations),
        (AuditEntry.entity == "service_order") & AuditEntry.entity_id.in_(orders),
    )
    for entry in session.scalars(select(AuditEntry).where(about)):
        # About the person (why released, why on hold, what was edited): nothing is kept.
        entry.detail = None if entry.entity == "resident" else scrub(entry.detail, words)
