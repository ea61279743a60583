"""What the phone network said about a text: the carrier's delivery report, kept on its row.

"Sent" only says the carrier accepted a text; a delivery report (Alibaba Cloud's SmsReport) says
whether the phone got it. A report finds its text by the carrier's id for it (``provider_id``,
the BizId SendSms returned), else by the reference Pingan sent with it
(``pingan-notification-<id>``, the text's OutId): that also finds a text whose report beat the
worker's save, or one found again by its OutId after a lost answer. The first report settles
the row, with a conditional UPDATE; a repeated or late one changes nothing (the platform pushes
again when our answer is lost). A text about an escalation that the phone never got goes in the
escalation's history (``sms_undelivered``): its reader may not know about the case; if it was a
staff alert and the escalation is still open, the next person on the ladder is told at once
(``ivr.domain.undelivered``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain import audit, undelivered
from ivr.phones import mask_phone
from storage import Notification, Staff

log = logging.getLogger(__name__)

DELIVERED, FAILED = "delivered", "failed"
RECORDED, REPEATED, UNKNOWN = "recorded", "repeated", "unknown"
REFERENCE = re.compile(r"pingan-notification-(\d{1,18})")


@dataclass(frozen=True)
class Report:
    """One delivery report, in the carrier's own words (``code``, ``message``)."""

    provider_id: str
    reference: str
    delivered: bool
    code: str
    message: str
    at: dt.datetime


def record(session: Session, report: Report, settings: Settings, now: dt.datetime) -> str:
    """Keep ``report`` on its text: ``RECORDED``, ``REPEATED`` (settled before) or ``UNKNOWN``;
    an undelivered staff alert is passed on to the next person."""
    row = _text_of(session, report)
    if row is None:
        return UNKNOWN
    settled = session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.delivery.is_(None))
        .values(
            delivery=DELIVERED if report.delivered else FAILED,
            delivery_code=report.code[:64] or None,
            delivered_at=report.at,
        )
    )
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        return REPEATED
    if not report.delivered and row.escalation_id is not None:
        audit.record(
            session,
            now,
            audit.SYSTEM,
            "sms_undelivered",
            "escalation",
            row.escalation_id,
            _undelivered(session, row, report),
        )
        undelivered.pass_on(session, row, settings, now)
    return RECORDED


def _text_of(session: Session, report: Report) -> Notification | None:
    texts = select(Notification).where(Notification.channel == "sms")
    if report.provider_id:
        found = session.scalars(texts.where(Notification.provider_id == report.provider_id))
        row = found.first()
        if row is not None:
            return row
    reference = REFERENCE.fullmatch(report.reference)
    if reference is None:
        return None
    return session.scalars(texts.where(Notification.id == int(reference[1]))).first()


def _undelivered(session: Session, row: Notification, report: Report) -> str:
    """``opened: 赵红梅 +86139****0011: MOBILE_NOT_ON_SERVICE 停机…`` (who, in the history's
    words: the staff member's name, the number masked as the alert calls' are)."""
    name = session.scalar(select(Staff.name).where(Staff.phone == row.recipient))
    who = " ".join(filter(None, (name, mask_phone(row.recipient))))
    return f"{row.kind}: {who}: {report.code} {report.message}".strip()[:500]


def describe(delivery: object, code: object) -> str:
    """A text's delivery for a table: ``delivered``, ``failed MOBILE_NOT_ON_SERVICE``, or ""."""
    if delivery == FAILED:
        return f"{FAILED} {code or ''}".strip()
    return str(delivery or "")
