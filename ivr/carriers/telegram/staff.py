"""Staff tapping 确认 or 已处理 under an alert: the dashboard's acknowledge and resolve, with the
same rules (only their own community unless supervisor or admin) and the same audit trail."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from ivr.carriers.telegram.linking import staff_of_chat
from ivr.carriers.telegram.notifier import LANG, buttons
from ivr.carriers.telegram.texts import word
from ivr.domain.escalations import LifecycleError, acknowledge, resolve
from ivr.domain.staff import may_act_for
from storage import Escalation

log = logging.getLogger(__name__)


def on_alert_press(
    session: Session, user_id: int, action: str, escalation_id: int, now: dt.datetime
) -> tuple[str, dict[str, object] | None, bool]:
    """Returns the reply to show, the alert's buttons from now on, and whether they changed.

    ``user_id`` is who tapped (in a group chat, not the group): their private chat's id, which
    is the id their staff link holds."""
    staff = staff_of_chat(session, user_id)
    if staff is None:
        log.warning("telegram user %s tapped an alert button without a staff link", user_id)
        return word(LANG, "unlinked"), None, False
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or not may_act_for(staff, escalation.community_id):
        log.warning("telegram: staff %s may not act on escalation %s", staff.id, escalation_id)
        return word(LANG, "not_found"), None, False
    try:
        if action == "a":
            acknowledge(
                session, escalation.id, staff.name, now, via=f"telegram from staff {staff.id}"
            )
            reply = word(LANG, "acknowledged")
        else:
            note = word(LANG, "resolved_note")
            resolve(session, escalation.id, staff.name, "other", note, now)
            reply = word(LANG, "resolved")
    except LifecycleError:
        by = escalation.resolved_by or escalation.acknowledged_by or ""
        return word(LANG, "already", by=by), buttons(escalation.id, escalation.status), True
    return reply, buttons(escalation.id, escalation.status), True
