"""A need nobody took within PINGAN_ORDER_TAKE_WITHIN (4 h) reminds the staff on duty, and again
every 4 h while nobody takes it, up to three times."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain import orders
from ivr.domain.staff import add_staff
from storage import Resident, ServiceOrder
from tests.conftest import SHANGHAI
from tests.helpers import add_community, add_resident
from tests.ivr.alerting import texts_to

STAFF = "+8613903710011"
PROPERTY = "+8613903710077"
BOSS = "+8613903710099"


def setup_order(app, clock, need: str = "groceries") -> int:
    community_id = add_community(app, "中原社区")
    resident_id = add_resident(app, "王秀英", "+8613803710101", address="建设西路12号院1号楼")
    with session_scope(app) as session:
        add_staff(session, "赵红梅", STAFF, community_id, "staff", clock.now())
        add_staff(session, "物业小王", PROPERTY, community_id, "property", clock.now())
        resident = session.get(Resident, resident_id)
        (order,) = orders.open_orders(session, resident, [need], clock.now(), SHANGHAI)
        return order.id


def test_an_order_nobody_took_in_4_hours_reminds_the_staff_on_duty(
    app, jobs, carrier, clock
) -> None:
    setup_order(app, clock)
    clock.advance(hours=3, minutes=59)
    jobs.check_sla()
    jobs.send_alerts()
    assert texts_to(carrier, STAFF) == []

    clock.advance(minutes=1)
    jobs.check_sla()
    jobs.send_alerts()
    assert texts_to(carrier, STAFF) == [
        "【平安】中原社区 王秀英的代买生活物资已4小时无人接单，请尽快接单。"
        "地址：建设西路12号院1号楼。"
    ]
    assert texts_to(carrier, PROPERTY) == []  # the property company is never on duty
    jobs.check_sla()
    jobs.send_alerts()
    assert len(texts_to(carrier, STAFF)) == 1  # one reminder per period, not one per sweep


def test_an_order_still_untaken_reminds_again_every_4_hours_with_the_supervisor_three_times(
    app, jobs, carrier, clock
) -> None:
    setup_order(app, clock)
    with session_scope(app) as session:
        add_staff(session, "周主任", BOSS, None, "supervisor", clock.now())
    for _ in range(5):
        clock.advance(hours=4)
        jobs.check_sla()
        jobs.send_alerts()
    staff_texts = texts_to(carrier, STAFF)
    assert [t.split("已")[1].split("无人")[0] for t in staff_texts] == ["4小时", "8小时", "12小时"]
    assert len(texts_to(carrier, BOSS)) == 2  # from the second reminder on, as for an escalation
    with session_scope(app) as session:
        (order,) = session.scalars(select(ServiceOrder)).all()
        assert order.reminders == 3


def test_an_order_taken_while_its_reminder_is_queued_is_not_reminded(
    app, jobs, carrier, clock
) -> None:
    order_id = setup_order(app, clock)
    clock.advance(hours=4)
    jobs.check_sla()
    with session_scope(app) as session:
        orders.take(session, order_id, "赵红梅", clock.now())
    clock.advance(hours=8)
    jobs.check_sla()
    jobs.send_alerts()
    assert texts_to(carrier, STAFF) == []  # the reminder queued before it was taken is not sent


def test_an_order_taken_in_time_reminds_nobody(app, jobs, carrier, clock) -> None:
    order_id = setup_order(app, clock)
    clock.advance(hours=1)
    with session_scope(app) as session:
        orders.take(session, order_id, "赵红梅", clock.now())
    clock.advance(hours=5)
    jobs.check_sla()
    jobs.send_alerts()
    assert texts_to(carrier, STAFF) == []


def test_the_wait_is_a_setting(app, jobs, carrier, clock) -> None:
    settings = app.extensions["pingan.settings"]
    assert settings.order_take_within_s == 4 * 3600
    setup_order(app, clock)
    clock.set(clock.now() + dt.timedelta(hours=4))
    assert jobs.check_sla() == 1
