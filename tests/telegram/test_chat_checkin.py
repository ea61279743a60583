"""Stories of the check-in by Telegram, through the Bot API double and the real webhook."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ivr.db import session_scope
from storage import AuditEntry, CheckIn, Escalation, Notification
from tests.helpers import add_resident
from tests.ivr.alerting import staff_member
from tests.telegram.conftest import link

ZHANG = "+8613803710103"
ALICE = "+8613903710011"


def checkin_of(app, resident_id: int) -> CheckIn:
    with session_scope(app) as session:
        found = session.scalars(select(CheckIn).where(CheckIn.resident_id == resident_id)).one()
        session.expunge(found)
        return found


def test_a_linked_resident_checks_in_by_chat_with_a_fever_and_staff_acknowledge_on_telegram(
    app, jobs, double, webhook, carrier
) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG, address="中原路 12 号 3 单元 401")
    staff_id = staff_member(app, "赵红梅", ALICE)
    resident = double.user(5550001, "桂兰")
    staffer = double.user(5550002, "红梅")
    link(app, resident, resident_id=resident_id)
    link(app, staffer, staff_id=staff_id)
    assert "已绑定：张桂兰" in resident.last().text

    jobs.start_rounds()
    assert checkin_of(app, resident_id).next_attempt_at is not None
    assert jobs.chat_checkins() == 1
    assert jobs.dial() == 0  # the call waits for the grace period
    assert resident.buttons() == ["开始", "社区电话"]

    assert resident.tap("开始") == 200
    assert "36.5" in resident.last().text and "." in resident.buttons()
    assert resident.send("38,6") == 200
    assert resident.last().text == "您输入的是 38.6 °C，对吗？"
    assert resident.tap("对") == 200
    assert resident.buttons() == ["有", "没有"]
    resident.tap("没有")
    resident.tap("买药")
    assert "✓ 买药" in resident.buttons()
    resident.tap("没有了")
    assert resident.last().text == "谢谢您。祝您平安健康，再见！"
    assert resident.last().buttons() == []

    checkin = checkin_of(app, resident_id)
    assert (checkin.status, checkin.source) == ("complete", "telegram")
    assert (checkin.temperature_c, checkin.symptoms, checkin.needs) == (
        Decimal("38.6"),
        False,
        ["medicine"],
    )
    assert checkin.next_attempt_at is None
    assert jobs.dial() == 0 and carrier.calls_to(ZHANG) == []

    jobs.send_chats()
    alert = staffer.last()
    assert "张桂兰" in alert.text and "高热" in alert.text and "38.6" in alert.text
    assert "+8613803710103" in alert.text and "中原路 12 号" in alert.text
    assert staffer.buttons() == ["确认", "已处理"]
    assert staffer.tap("确认") == 200
    assert staffer.buttons() == ["已处理"]
    with session_scope(app) as session:
        escalation = session.scalars(select(Escalation)).one()
        assert (escalation.reason, escalation.status) == ("high_fever", "acknowledged")
        assert escalation.acknowledged_by == "赵红梅"
        trail = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "acknowledged")
        ).all()
        assert trail == [f"via telegram from staff {staff_id}"]
        sent = session.scalars(
            select(Notification.channel).where(Notification.status == "sent")
        ).all()
        assert "telegram" in sent
    print("\n".join(resident.transcript()))
