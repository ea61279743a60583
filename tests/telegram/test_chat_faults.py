"""Bad input and a failing Telegram never crash a check-in or lose it, and logs keep phone
numbers masked."""

from __future__ import annotations

import logging

import requests
from sqlalchemy import func, select

from ivr.db import session_scope
from storage import CheckIn, Escalation, TelegramUpdate
from tests.helpers import add_resident, run_until_settled
from tests.ivr.alerting import open_escalation, staff_member
from tests.telegram.conftest import SECRET, link

ZHANG = "+8613803710103"
ALICE = "+8613903710011"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def test_malformed_updates_are_answered_200_and_change_nothing(app, webhook, double) -> None:
    bodies = [
        b"not json",
        b"[]",
        b'{"update_id": "1"}',
        b'{"update_id": 5, "message": "x"}',
        b'{"update_id": 6, "callback_query": {"id": 7, "data": null}}',
        b'{"update_id": 8, "message": {"chat": {"id": 1, "type": "group"}, "text": "/start X"}}',
        b'{"update_id": 9, "edited_message": {}}',
    ]
    for body in bodies:
        reply = requests.post(
            webhook, data=body, headers={**HEADERS, "Content-Type": "application/json"}, timeout=10
        )
        assert reply.status_code == 200, body
    with session_scope(app) as session:
        assert sorted(session.scalars(select(TelegramUpdate.update_id))) == [5, 6, 8, 9]


def test_a_resident_who_blocked_the_bot_is_called_as_usual(
    app, jobs, double, webhook, carrier, clock
) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    user = double.user(5550001, "桂兰")
    link(app, user, resident_id=resident_id)
    user.chat.blocked = True
    jobs.start_rounds()
    assert jobs.chat_checkins() == 0  # Telegram refused: 403 bot was blocked by the user
    clock.advance(minutes=30)
    run_until_settled(jobs, carrier, clock)
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        assert (checkin.status, checkin.source) == ("complete", "call")


def test_reminders_reach_staff_on_telegram_and_logs_mask_phones(
    app, jobs, double, webhook, clock, caplog
) -> None:
    caplog.set_level(logging.INFO)
    staff_id = staff_member(app, "赵红梅", ALICE)
    staffer = double.user(5550002, "红梅")
    link(app, staffer, staff_id=staff_id)
    escalation_id = open_escalation(app, add_resident(app, "张桂兰", ZHANG))
    jobs.send_alerts()
    clock.advance(minutes=16)  # the urgent SLA is 15 minutes
    assert jobs.check_sla() == 1
    jobs.send_alerts()
    bodies = [m.text for m in staffer.chat.messages if m.from_bot]
    assert bodies[-1].startswith("【平安】第1次提醒·紧急：张桂兰")
    assert staffer.tap("已处理", under="第1次提醒") == 200
    with session_scope(app) as session:
        assert session.get(Escalation, escalation_id).status == "resolved"
        assert session.scalar(select(func.count()).select_from(Escalation)) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "telegram" in logged
    assert ZHANG not in logged and ALICE not in logged and "13803710103" not in logged
