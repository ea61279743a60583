"""Text messages to the app's number: staff acknowledge an escalation by replying with its code.

``POST /sms/incoming`` (signed like every Twilio webhook). The body may be the bare code or
"ack 1234" / "确认1234" / "收到 1234", in any case and with full-width digits. It acknowledges
the escalation only if the sender is an active staff member of the escalation's community, or a
supervisor/admin of all communities. Whatever happens, the sender gets a polite reply (TwiML
``<Message>``) and nothing changes unless the acknowledgement was valid.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from ivr import clock_of
from ivr.db import session_scope
from ivr.domain.escalations import acknowledge
from ivr.domain.staff import may_act_for, staff_by_phone
from ivr.notifiers.base import reason_words, render
from ivr.phones import mask_phone
from ivr.web.voice.params import SMS, expects
from ivr.web.voice.signature import twilio_signed
from storage import Escalation

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms")

_ACK = re.compile(r"(?:ack|ok|确认|收到)?\s*[:：#]?\s*([0-9]{4,6})\s*[。.!！]?", re.IGNORECASE)


@dataclass(frozen=True)
class SmsAck:
    """What a text did: ``result`` names the reply (see ``templates/alerts/ack_reply.txt``)."""

    result: str  # acknowledged | already | unknown_code | no_code | unknown_sender
    code: str | None = None
    escalation: Escalation | None = None


def parse_code(body: str) -> str | None:
    """The acknowledgement code in a reply, or None: "ack 1234", "确认１２３４" → "1234"."""
    text = unicodedata.normalize("NFKC", body).strip()
    match = _ACK.fullmatch(text)
    return match.group(1) if match else None


def acknowledge_by_sms(session: Session, sender: str, body: str, now: dt.datetime) -> SmsAck:
    """Acknowledge the escalation whose code ``sender`` texted, if they may."""
    staff = staff_by_phone(session, sender)
    if staff is None:
        log.warning("SMS from %s, who is not active staff: ignored", mask_phone(sender))
        return SmsAck("unknown_sender")
    code = parse_code(body)
    if code is None:
        log.info("SMS from staff %s without an acknowledgement code", staff.id)
        return SmsAck("no_code")
    matches = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.ack_code == code, Escalation.status != "resolved")
            .order_by(Escalation.id.desc())
        )
    )
    if not matches:
        log.info("SMS from staff %s: code %s matches no unresolved escalation", staff.id, code)
        return SmsAck("unknown_code", code)
    mine = [e for e in matches if may_act_for(staff, e.community_id)]
    if not mine:
        # Answered as an unknown code, so that a reply never confirms that a code is live in
        # another community; the log keeps the difference.
        log.warning("SMS from staff %s: code %s belongs to another community", staff.id, code)
        return SmsAck("unknown_code", code)
    escalation = mine[0]
    if escalation.status != "open":
        log.info(
            "SMS from staff %s: escalation %s was already acknowledged", staff.id, escalation.id
        )
        return SmsAck("already", code, escalation)
    acknowledge(session, escalation.id, staff.name, now, via=f"sms from staff {staff.id}")
    return SmsAck("acknowledged", code, escalation)


def reply_text(ack: SmsAck) -> str:
    escalation = ack.escalation
    return render(
        "ack_reply.txt",
        result=ack.result,
        code=ack.code,
        escalation_id=escalation.id if escalation else None,
        resident=escalation.resident.name if escalation else "",
        community=escalation.community.name if escalation else "",
        reason_words=reason_words(escalation.reason) if escalation else "",
        by=escalation.acknowledged_by if escalation else "",
    )


@bp.post("/incoming")
@twilio_signed
@expects(SMS)
def incoming() -> Response:
    now = clock_of(current_app).now()
    with session_scope() as session:
        ack = acknowledge_by_sms(
            session, request.form.get("From", ""), request.form.get("Body", ""), now
        )
        text = reply_text(ack)
    reply = MessagingResponse()
    reply.message(text)
    return Response(str(reply), mimetype="text/xml")
