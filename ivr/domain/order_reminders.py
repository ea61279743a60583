"""A need nobody took (接单) within ``PINGAN_ORDER_TAKE_WITHIN`` reminds the staff on duty.

Like an escalation's SLA reminder (``ivr.domain.alerts.check_sla``): each late order is claimed once
with a conditional UPDATE (two workers never remind twice), and its texts are queued as
``Notification`` rows for the same senders, to the people an alert would reach first
(``ivr.domain.staff.alert_targets``: the staff on duty, else the supervisors, else the duty phone).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain.alerts import SMS_LANE
from ivr.domain.staff import alert_targets
from ivr.notifiers.base import render
from storage import Notification, ServiceOrder

log = logging.getLogger(__name__)

KIND = "order-reminder"  # the text's kind (an SMS template of its own)
NEED_WORDS = {
    "groceries": "代买生活物资",
    "medicine": "代购药品",
    "supplies": "口罩消毒用品",
    "garbage": "垃圾清运",
}


def remind_untaken(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Queue a reminder for each order still open ``order_take_within_s`` after it was
    opened and not reminded of yet; returns how many orders."""
    cutoff = now - dt.timedelta(seconds=settings.order_take_within_s)
    late = select(ServiceOrder.id).where(
        ServiceOrder.status == "open",
        ServiceOrder.opened_at <= cutoff,
        ServiceOrder.reminded_at.is_(None),
    )
    reminded = 0
    for order_id in session.scalars(late.order_by(ServiceOrder.opened_at)).all():
        claimed = session.execute(
            update(ServiceOrder)
            .where(ServiceOrder.id == order_id, ServiceOrder.reminded_at.is_(None))
            .values(reminded_at=now)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _queue(session, order_id, settings, now)
            reminded += 1
    return reminded


def _queue(session: Session, order_id: int, settings: Settings, now: dt.datetime) -> None:
    order = session.get(ServiceOrder, order_id)
    assert order is not None
    targets = alert_targets(session, order.community, now, settings.tz, settings.duty_phone)
    hours = max(1, int((now - order.opened_at).total_seconds() // 3600))
    body = render(
        "order_sms.txt",
        community=order.community.name,
        resident=order.resident.name,
        need_words=NEED_WORDS.get(order.need, order.need),
        hours=hours,
        address=order.resident.address,
    )
    for phone in dict.fromkeys(targets.phones):
        session.add(
            Notification(
                escalation_id=None,
                channel=SMS_LANE,
                recipient=phone,
                kind=KIND,
                body=body,
                status="pending",
                tries=0,
                next_try_at=now,
                created_at=now,
            )
        )
    log.info("order %s not taken after %s h: %s reminded", order.id, hours, targets.via)
