"""A need nobody took (接单) within ``PINGAN_ORDER_TAKE_WITHIN`` reminds the staff on duty, and
again each ``PINGAN_ORDER_TAKE_WITHIN`` after while it stays untaken (the supervisors too), up to
three times; a community with a group chat sees each reminder there as well.

Like an escalation's SLA reminder (``ivr.domain.alerts.check_sla``): each reminder is claimed once
with a conditional UPDATE on the count (two workers never remind twice), and its texts are queued as
``Notification`` rows for the same senders, to the people an alert would reach first
(``ivr.domain.staff.alert_targets``: the staff on duty, else the supervisors, else the duty phone).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.domain.alerts import SMS_LANE
from ivr.domain.staff import alert_targets, supervisors
from ivr.notifiers.base import render
from ivr.notifiers.chat import compose_note
from storage import Notification, ServiceOrder

log = logging.getLogger(__name__)

KIND = "order-reminder"  # the text's kind (an SMS template of its own), then "-<order id>"
MAX_REMINDERS = 3  # as many as an unacknowledged escalation gets
NEED_WORDS = {
    "groceries": "代买生活物资",
    "medicine": "代购药品",
    "supplies": "口罩消毒用品",
    "garbage": "垃圾清运",
}


def remind_untaken(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Queue a reminder for each order still open ``order_take_within_s`` after it was opened
    or last reminded of, up to ``MAX_REMINDERS`` times; returns how many orders."""
    cutoff = now - dt.timedelta(seconds=settings.order_take_within_s)
    late = select(ServiceOrder.id, ServiceOrder.reminders).where(
        ServiceOrder.status == "open",
        ServiceOrder.opened_at <= cutoff,
        ServiceOrder.reminders < MAX_REMINDERS,
        or_(ServiceOrder.reminded_at.is_(None), ServiceOrder.reminded_at <= cutoff),
    )
    reminded = 0
    for order_id, count in session.execute(late.order_by(ServiceOrder.opened_at)).all():
        claimed = session.execute(
            update(ServiceOrder)
            .where(ServiceOrder.id == order_id, ServiceOrder.reminders == count)
            .values(reminded_at=now, reminders=count + 1)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _queue(session, order_id, count + 1, settings, now)
            reminded += 1
    return reminded


def _queue(
    session: Session, order_id: int, count: int, settings: Settings, now: dt.datetime
) -> None:
    order = session.get(ServiceOrder, order_id)
    assert order is not None
    targets = alert_targets(session, order.community, now, settings.tz, settings.duty_phone)
    phones = list(targets.phones)
    if count > 1:  # as for an escalation's reminders: the supervisors hear of it too
        phones += [s.phone for s in supervisors(session, order.community_id)]
    hours = max(1, int((now - order.opened_at).total_seconds() // 3600))
    variables = {
        "community": order.community.name,
        "resident": order.resident.name,
        "need": NEED_WORDS.get(order.need, order.need),
        "hours": str(hours),
        "address": order.resident.address or "未登记",
    }
    body = render("order_sms.txt", **variables)
    rows = [(SMS_LANE, phone, body) for phone in dict.fromkeys(phones)]
    if order.community.chat_webhook_url:
        channel = order.community.chat_format or "json"
        rows.append((channel, order.community.chat_webhook_url, _chat(channel, order, body)))
    for channel, recipient, words in rows:
        session.add(
            Notification(
                escalation_id=None,
                channel=channel,
                recipient=recipient,
                kind=kind_of(order.id),
                body=words,
                params=json.dumps(variables, ensure_ascii=False),  # its Alibaba Cloud template's
                status="pending",
                tries=0,
                next_try_at=now,
                created_at=now,
            )
        )
    log.info(
        "order %s not taken after %s h: reminder %d to %s%s",
        order.id,
        hours,
        count,
        targets.via,
        " and the community chat" if order.community.chat_webhook_url else "",
    )


def _chat(channel: str, order: ServiceOrder, text: str) -> str:
    """The group-chat post: the text's words, with the order's fields for a JSON receiver."""
    fields = {
        "event": "order.reminder",
        "id": order.id,
        "need": order.need,
        "community": order.community.name,
        "resident": order.resident.name,
        "address": order.resident.address,
        "opened_at": order.opened_at.isoformat(),
    }
    return compose_note(channel, "需求未接单", text, fields).body


def kind_of(order_id: int) -> str:
    """The rows' kind names the order, so taking it cancels what is still queued."""
    return f"{KIND}-{order_id}"


def cancel_queued(session: Session, order_id: int) -> int:
    """An order taken, delivered or cancelled: its reminders not yet sent are not sent."""
    result = session.execute(
        update(Notification)
        .where(Notification.kind == kind_of(order_id), Notification.status == "pending")
        .values(status="cancelled", claimed_by=None)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        log.info("order %s: %d queued reminders cancelled, it is no longer open", order_id, count)
    return count
