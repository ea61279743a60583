"""An alert text the phone never got: the next person on the ladder is told at once.

A delivery report (``ivr.domain.text_delivery``) that says a staff alert (``opened`` or a
``reminder-N``) did not reach its phone means that person may not know about the case. If the
escalation is still ``open`` (nobody acknowledged or resolved it), the same alert is queued, due
now, to the next rung of the escalation ladder the staff alert call climbs
(``alert_calls.ring_order``: the staff on duty by id, then the supervisors and admins), closed by
the last resort ``alert_targets`` texts when nobody is on duty (the community's duty phone, else
``PINGAN_DUTY_PHONE``). "Next" is the first rung after the person who missed it that has not been
sent this alert; someone who missed it and is not on the ladder any more (off duty since) is
followed by the first rung not yet sent it. The next person gets it on every lane they are told
on (their SMS, and Telegram where linked); the group chat, if any, was sent this alert already.
Nobody is sent one alert twice (``alerts.queue_untold``), so a second failure moves one rung
further and the chain ends when the ladder does (logged, and written in the escalation's
history).

Reports for one escalation are taken one at a time (its row is locked), so two reports arriving
together on two web workers never pick the same next person. A repeated report never gets here:
the first one settled the text (``text_delivery.record``).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain import alerts, audit, channels
from ivr.domain.alert_calls import ring_order
from ivr.phones import mask_phone
from storage import Escalation, Notification, Staff

log = logging.getLogger(__name__)


def pass_on(session: Session, row: Notification, settings: Settings, now: dt.datetime) -> int:
    """Queue ``row``'s undelivered alert to the next person; returns how many rows were queued
    (0: not a staff alert, the escalation is no longer open, or nobody is left)."""
    if row.escalation_id is None or not alerts.is_staff_kind(row.kind):
        return 0
    escalation = session.get(Escalation, row.escalation_id, with_for_update=True)
    if escalation is None or escalation.status != "open":
        return 0
    told = {recipient for channel, recipient in alerts.told_of(session, escalation.id, row.kind)
            if channel == alerts.SMS_LANE}  # fmt: skip
    phone = next_rung(ladder(session, escalation, settings, now), row.recipient, told)
    targets = []
    if phone is not None:
        targets = [(alerts.SMS_LANE, phone), *channels.staff_targets(session, [phone], settings)]
    count = alerts.queue_untold(session, escalation, row.kind, targets, settings, now)
    detail = _detail(session, row, phone)
    audit.record(session, now, audit.SYSTEM, "sms_passed_on", "escalation", escalation.id, detail)
    log.warning("escalation %s: %s (%d rows queued)", escalation.id, detail, count)
    return count


def ladder(
    session: Session, escalation: Escalation, settings: Settings, now: dt.datetime
) -> list[str]:
    """The phones told one after the other: the alert call's order, then the duty phone."""
    phones = [callee.phone for callee in ring_order(session, escalation, settings, now)]
    last = escalation.community.duty_phone or settings.duty_phone
    return list(dict.fromkeys([*phones, *([last] if last else [])]))


def next_rung(phones: list[str], missed: str, told: set[str]) -> str | None:
    """The first of ``phones`` after ``missed`` not yet ``told`` (from the top when ``missed``
    is not among them)."""
    after = phones[phones.index(missed) + 1 :] if missed in phones else phones
    return next((phone for phone in after if phone not in told), None)


def _detail(session: Session, row: Notification, phone: str | None) -> str:
    """``opened: 赵红梅 +86139****0011 → 钱卫国 +86139****0022`` (or ``→ nobody left``)."""
    return f"{row.kind}: {_who(session, row.recipient)} → " + (
        _who(session, phone) if phone else "nobody left on the ladder"
    )


def _who(session: Session, phone: str) -> str:
    name = session.scalar(select(Staff.name).where(Staff.phone == phone).limit(1))
    return " ".join(filter(None, (name, mask_phone(phone))))
