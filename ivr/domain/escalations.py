"""Escalations: what staff must act on, from the moment a rule fires until it is resolved.

Every reason, its severity and where it is raised (the one list; ``REASONS`` below):

=====================  ========  ==============================================================
reason                 severity  raised when
=====================  ========  ==============================================================
fever                  high      temperature ≥ PINGAN_FEVER_C (37.3) and below high fever
high_fever             urgent    temperature ≥ PINGAN_HIGH_FEVER_C (38.5)
low_temperature        high      temperature < PINGAN_LOW_TEMPERATURE_C (35.0)
rising_temperature     high      ≥ PINGAN_RISING_DELTA_C (0.5) above the previous reading, while
                                 at or above PINGAN_RISING_FROM_C (37.0)
symptoms               high      the resident reports symptoms (flow file rule)
callback_requested     high      the resident pressed 0 and nobody took the call (flow file rule)
unreachable            high      nobody answered any attempt of a round; urgent if the resident
                                 lives alone or missed the previous round too (``settle.py``)
no_response            high      answered but no temperature keyed; urgent as above
bad_phone              high      the carrier refuses the number (``dialer.py``)
=====================  ========  ==============================================================

The temperature rules live in ``callflows/rules.py``, the answer rules in the flow file.

Lifecycle: ``open`` → ``acknowledged`` (by whom, when) → ``resolved`` (by whom, when, outcome,
note). Recovery: a resident who was ``unreachable`` or ``no_response`` and then gives a
temperature (any channel: a later call, a call-back, staff on their behalf) has those escalations
resolved by ``system`` with outcome ``checked_in`` (``recover``); temperature escalations always
wait for a person.

At most one unresolved escalation per resident and reason: a new event is added to it (the
database enforces this with a partial unique index, so racing webhooks cannot both insert); after
it is resolved, the next event opens a new one. Every change is written to the audit trail.
Urgent and high escalations are announced to staff in the same transaction (``alerts.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain import alerts, audit, escalation_facts
from ivr.phones import mask_phones_in
from storage import AuditEntry, CheckIn, Escalation, Notification, Resident
from storage.queries import escalation_siblings

log = logging.getLogger(__name__)

SEVERITY_RANK = {"normal": 0, "high": 1, "urgent": 2}
REASONS: dict[str, str] = {  # reason -> usual severity (see the table above)
    "fever": "high",
    "high_fever": "urgent",
    "low_temperature": "high",
    "rising_temperature": "high",
    "symptoms": "high",
    "callback_requested": "high",
    "unreachable": "high",
    "no_response": "high",
    "bad_phone": "high",
}
STATUSES = ("open", "acknowledged", "resolved")
OUTCOMES = ("visited", "called_back", "hospital", "false_alarm", "other")
CHECKED_IN = "checked_in"  # the system's outcome when the resident was heard from (``recover``)
RECOVERABLE = ("unreachable", "no_response")
ACK_CODE_DIGITS = 4


class LifecycleError(Exception):
    """A change that is not allowed. ``kind``: not_found | forbidden | conflict | invalid."""

    def __init__(self, message: str, kind: str = "conflict") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Raised:
    escalation: Escalation
    opened: bool  # False when the event was added to an escalation already open


def raise_escalation(
    session: Session,
    resident: Resident,
    reason: str,
    severity: str,
    detail: str,
    now: dt.datetime,
    checkin: CheckIn | None = None,
    temperature: Decimal | None = None,
    *,
    settings: Settings,
    fact: dict[str, Any] | None = None,
) -> Raised:
    """Open an escalation for ``resident``, or add this event to the unresolved one.

    ``detail`` says the event in English (logs, the CLI, the API); ``fact`` is the same as data
    (``ivr.domain.escalation_facts``) for the screens and texts staff read."""
    fact = fact or escalation_facts.text(detail)
    if reason not in REASONS:
        log.warning("escalation reason %r is not a known reason (custom flow rule?)", reason)
    existing = _unresolved(session, resident.id, reason)
    if existing is None:
        try:
            with session.begin_nested():
                created = Escalation(
                    resident_id=resident.id,
                    community_id=resident.community_id,
                    checkin_id=checkin.id if checkin else None,
                    reason=reason,
                    severity=severity,
                    status="open",
                    detail=detail,
                    facts=[fact],
                    temperature_c=temperature,
                    temperature_confirmed=_confirmed(checkin, temperature),
                    events=1,
                    opened_at=now,
                    last_event_at=now,
                    ack_code=_sibling_code(session, resident.id, checkin) or _new_ack_code(session),
                    reminders=0,
                )
                session.add(created)
        except IntegrityError:  # another transaction opened it first: join that one
            existing = _unresolved(session, resident.id, reason)
            if existing is None:
                raise
        else:
            _opened(session, created, settings, now)
            return Raised(created, True)
    _add_event(session, existing, severity, detail, fact, now, temperature, settings)
    if temperature is not None:
        existing.temperature_confirmed = _confirmed(checkin, temperature)
    return Raised(existing, False)


def _confirmed(checkin: CheckIn | None, temperature: Decimal | None) -> bool:
    """Whether the reading an escalation shows was confirmed at the call's read-back."""
    return checkin is None or temperature is None or checkin.temperature_confirmed


def _opened(session: Session, created: Escalation, settings: Settings, now: dt.datetime) -> None:
    detail = f"{created.reason} ({created.severity}): {created.detail}"
    audit.record(session, now, audit.SYSTEM, "opened", "escalation", created.id, detail)
    log.info(
        "escalation %s opened: %s %s for resident %s",
        created.id,
        created.reason,
        created.severity,
        created.resident_id,
    )
    alerts.queue_opened(session, created, settings, now)


def _unresolved(session: Session, resident_id: int, reason: str) -> Escalation | None:
    query = select(Escalation).where(
        Escalation.resident_id == resident_id,
        Escalation.reason == reason,
        Escalation.status != "resolved",
    )
    return session.scalars(query.with_for_update()).first()


def _sibling_code(session: Session, resident_id: int, checkin: CheckIn | None) -> str | None:
    """The code of an escalation this same check-in opened earlier and nobody has taken yet
    (a high fever, then symptoms a few questions later): one card, one text, one code."""
    if checkin is None or checkin.id is None:
        return None
    return session.scalar(
        select(Escalation.ack_code)
        .where(
            Escalation.resident_id == resident_id,
            Escalation.checkin_id == checkin.id,
            Escalation.status == "open",
        )
        .limit(1)
    )


def siblings(session: Session, escalation: Escalation) -> list[Escalation]:
    """The other unresolved escalations of the same reading (they share the code)."""
    return list(session.scalars(escalation_siblings(escalation).with_for_update()))


def _new_ack_code(session: Session) -> str:
    """A short code to key on a phone, not shared with any other unresolved escalation."""
    in_use = set(
        session.scalars(
            select(Escalation.ack_code).where(
                Escalation.status != "resolved", Escalation.ack_code.is_not(None)
            )
        )
    )
    digits = ACK_CODE_DIGITS
    while True:
        for _ in range(20):
            code = str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))
            if code not in in_use:
                return code
        digits += 1  # crowded: longer codes rather than an endless search


def _add_event(
    session: Session,
    escalation: Escalation,
    severity: str,
    detail: str,
    fact: dict[str, Any],
    now: dt.datetime,
    temperature: Decimal | None,
    settings: Settings,
) -> None:
    escalation.events += 1
    escalation.last_event_at = now
    escalation.detail = f"{escalation.detail}\n{detail}".strip()
    escalation.facts = [*escalation.facts, fact]  # a new list: the JSON column sees the change
    if temperature is not None:
        escalation.temperature_c = temperature
    before = escalation.severity
    if SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(before, 0):
        escalation.severity = severity
        alerts.severity_raised(session, escalation, before, settings, now)
    audit.record(
        session,
        now,
        audit.SYSTEM,
        "event_added",
        "escalation",
        escalation.id,
        f"{severity}: {detail}",
    )
    log.info(
        "escalation %s: event %d added (%s)",
        escalation.id,
        escalation.events,
        mask_phones_in(detail),
    )


def acknowledge(
    session: Session,
    escalation_id: int,
    actor: str,
    now: dt.datetime,
    community_id: int | None = None,
    *,
    via: str | None = None,
) -> Escalation:
    """``open`` → ``acknowledged``: someone is on it. Stops the SLA reminders.

    ``community_id`` limits the change to that community's escalations (the dashboard passes
    the signed-in staff member's). ``via`` is kept in the audit trail ("sms", "dashboard").
    """
    escalation = _load(session, escalation_id, community_id)
    if escalation.status != "open":
        raise LifecycleError(_already(escalation))
    for one in [escalation, *(e for e in siblings(session, escalation) if e.status == "open")]:
        one.status = "acknowledged"
        one.acknowledged_by, one.acknowledged_at = actor, now
        _stop_reminders(session, one)
        detail = via and f"via {via}"
        audit.record(session, now, actor, "acknowledged", "escalation", one.id, detail)
        log.info("escalation %s acknowledged%s", one.id, f" via {via}" if via else "")
    return escalation


def resolve(
    session: Session,
    escalation_id: int,
    actor: str,
    outcome: str,
    note: str,
    now: dt.datetime,
    community_id: int | None = None,
) -> Escalation:
    """``open``/``acknowledged`` → ``resolved`` with an outcome from ``OUTCOMES`` and a note.

    Resolving an escalation nobody acknowledged also records the acknowledgement (same person,
    same time): someone evidently dealt with it.
    """
    if outcome not in OUTCOMES:
        raise LifecycleError(f"outcome must be one of {', '.join(OUTCOMES)}", "invalid")
    escalation = _load(session, escalation_id, community_id)
    if escalation.status == "resolved":
        raise LifecycleError(_already(escalation))
    for one in [escalation, *siblings(session, escalation)]:  # one card, one decision
        if one.acknowledged_at is None:
            one.acknowledged_by, one.acknowledged_at = actor, now
        one.status = "resolved"
        one.resolved_by, one.resolved_at = actor, now
        one.outcome, one.note = outcome, note
        _stop_reminders(session, one)
        audit.record(session, now, actor, "resolved", "escalation", one.id, f"{outcome}: {note}")
        log.info("escalation %s resolved: %s", one.id, outcome)
    return escalation


def recover(
    session: Session,
    checkin: CheckIn,
    settings: Settings,
    now: dt.datetime,
    via: str | None = None,
) -> list[Escalation]:
    """The resident was heard from on ``checkin`` (``via`` a channel other than the check-in's
    source, e.g. ``chat`` while a chat check-in is still open): they are no longer unreachable.

    Their open ``unreachable``/``no_response`` escalations are resolved by the system, naming
    the check-in; the staff who were alerted are told, and the reminders stop.
    """
    query = select(Escalation).where(
        Escalation.resident_id == checkin.resident_id,
        Escalation.reason.in_(RECOVERABLE),
        Escalation.status != "resolved",
    )
    recovered = list(session.scalars(query.with_for_update()))
    for escalation in recovered:
        note = _checked_in_note(checkin, settings.tz, now, via)
        escalation.status = "resolved"
        escalation.resolved_by, escalation.resolved_at = audit.SYSTEM, now
        escalation.outcome, escalation.note = CHECKED_IN, note
        _stop_reminders(session, escalation)
        audit.record(
            session,
            now,
            audit.SYSTEM,
            "resolved",
            "escalation",
            escalation.id,
            f"{CHECKED_IN}: {note}",
        )
        alerts.queue_recovered(session, escalation, checkin, settings, now)
        log.info(
            "escalation %s (%s) resolved: resident %s checked in (check-in %s)",
            escalation.id,
            escalation.reason,
            escalation.resident_id,
            checkin.id,
        )
    return recovered


def _checked_in_note(checkin: CheckIn, tz: dt.tzinfo, now: dt.datetime, via: str | None) -> str:
    how = via or {"inbound": "call-back", "staff": "recorded by staff", "telegram": "chat"}.get(
        checkin.source, "call"
    )
    reading = f"{checkin.temperature_c} °C" if checkin.temperature_c is not None else "no reading"
    return f"check-in {checkin.id} ({how}) at {now.astimezone(tz):%H:%M}: {reading}"


def history(session: Session, escalation_id: int) -> list[AuditEntry]:
    """The escalation's audit trail, oldest first: opened, events, reminders, ack, resolve."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.entity == "escalation", AuditEntry.entity_id == escalation_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(session.scalars(query))


def _load(session: Session, escalation_id: int, community_id: int | None) -> Escalation:
    escalation = session.get(Escalation, escalation_id, with_for_update=True)
    if escalation is None:
        raise LifecycleError(f"there is no escalation {escalation_id}", "not_found")
    if community_id is not None and escalation.community_id != community_id:
        log.warning("escalation %s: change refused for another community", escalation_id)
        raise LifecycleError(
            f"escalation {escalation_id} belongs to another community", "forbidden"
        )
    return escalation


def _already(escalation: Escalation) -> str:
    if escalation.status == "resolved":
        return f"escalation {escalation.id} was already resolved by {escalation.resolved_by}"
    return f"escalation {escalation.id} was already acknowledged by {escalation.acknowledged_by}"


def _stop_reminders(session: Session, escalation: Escalation) -> None:
    """No more SLA reminders; reminders queued but not yet sent are cancelled."""
    escalation.remind_at = None
    session.execute(
        update(Notification)
        .where(
            Notification.escalation_id == escalation.id,
            Notification.status == "pending",
            Notification.kind.startswith("reminder-"),
        )
        .values(status="cancelled")
    )
