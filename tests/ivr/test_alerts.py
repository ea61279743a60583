"""Staff are told about urgent and high escalations by SMS, and told again if nobody acknowledges.

The escalation and its notifications are stored in one transaction; the worker's jobs send them
through the real simulated carrier, which records every text.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, update

from ivr import settings_of
from ivr.carriers.telephony import TextMessage
from ivr.db import session_scope, sessions
from ivr.domain import escalations
from ivr.domain.alerts import STUCK_AFTER_S, AlertSender
from ivr.domain.staff import add_shift
from ivr.notifiers import notifiers_for
from ivr.worker.jobs import Jobs
from storage import Community, Notification, Resident, Staff
from tests.conftest import SHANGHAI
from tests.helpers import add_community, add_resident
from tests.ivr.alerting import (
    escalation,
    notifications,
    open_escalation,
    staff_member,
    texts_to,
)

ALICE = "+8613903710011"
BOB = "+8613903710012"
BOSS = "+8613903710099"
OTHER = "+8613903710021"
GRANDMA = "+8613803710103"
FAMILY = "+8613803719999"


@pytest.fixture
def staffed(app) -> int:
    """张桂兰 in 中原社区 with two staff on duty, a supervisor, and staff elsewhere."""
    staff_member(app, "赵红梅", ALICE)
    staff_member(app, "钱建军", BOB)
    staff_member(app, "周主任", BOSS, community=None, role="supervisor")
    staff_member(app, "孙丽", OTHER, community="康桥华城社区")
    return add_resident(app, "张桂兰", GRANDMA, address="桐柏路88号院6号楼3单元101")


def test_an_urgent_escalation_texts_every_staff_member_on_duty_at_once(
    app, carrier, staffed
) -> None:
    escalation_id = open_escalation(app, staffed)
    assert carrier.messages == []  # stored first, sent by the worker
    assert Jobs(app, worker="w").send_alerts() == 2
    (text,) = texts_to(carrier, ALICE)
    code = escalation(app, escalation_id).ack_code
    assert text == (
        "【平安】紧急：中原社区 张桂兰，高热，体温 39.2℃。地址：桐柏路88号院6号楼3单元101。"
        f"电话：138 0371 0103。11-28 09:00。回复 {code} 确认"
    )
    assert texts_to(carrier, BOB) == [text]
    assert texts_to(carrier, BOSS) == [] and texts_to(carrier, OTHER) == []
    rows = notifications(app)
    assert {(n.channel, n.kind, n.status, n.tries) for n in rows} == {("sms", "opened", "sent", 1)}
    assert all(n.provider_id and n.provider_id.startswith("SM") for n in rows)


def test_a_normal_escalation_texts_nobody(app, carrier, staffed) -> None:
    open_escalation(app, staffed, reason="custom", severity="normal", temperature=None)
    assert notifications(app) == []
    assert Jobs(app, worker="w").send_alerts() == 0


def test_a_second_event_of_an_open_escalation_does_not_text_again(app, carrier, staffed) -> None:
    first = open_escalation(app, staffed)
    second = open_escalation(app, staffed, temperature="39.5")
    assert first == second and escalation(app, first).events == 2
    Jobs(app, worker="w").send_alerts()
    assert len(texts_to(carrier, ALICE)) == 1


def test_the_duty_roster_decides_who_is_texted(app, carrier, staffed, clock) -> None:
    saturday = clock.now().astimezone(SHANGHAI).weekday()
    with session_scope(app) as session:
        bob = session.scalars(select(Staff).where(Staff.phone == BOB)).one()
        community = session.get(Community, bob.community_id)
        add_shift(session, bob, community, saturday, "08:00", "12:00")  # 09:00 Saturday: on
    open_escalation(app, staffed)
    Jobs(app, worker="w").send_alerts()
    assert {m.to for m in carrier.messages} == {BOB}


def test_a_roster_with_nobody_on_duty_right_now_texts_all_staff(app, carrier, staffed) -> None:
    with session_scope(app) as session:
        bob = session.scalars(select(Staff).where(Staff.phone == BOB)).one()
        community = session.get(Community, bob.community_id)
        add_shift(session, bob, community, None, "20:00", "24:00")
    open_escalation(app, staffed)
    Jobs(app, worker="w").send_alerts()
    assert {m.to for m in carrier.messages} == {ALICE, BOB}


def test_an_urgent_escalation_unacknowledged_for_15_minutes_is_sent_again_to_the_supervisor(
    app, carrier, clock, staffed
) -> None:
    escalation_id = open_escalation(app, staffed)
    jobs = Jobs(app, worker="w")
    jobs.send_alerts()
    clock.advance(minutes=14)
    assert jobs.check_sla() == 0
    clock.advance(minutes=1)
    assert jobs.check_sla() == 1
    assert jobs.check_sla() == 0  # claimed once: a second tick changes nothing
    jobs.send_alerts()
    reminder = texts_to(carrier, BOSS)
    assert len(reminder) == 1 and reminder[0].startswith("【平安】第1次提醒，15分钟未确认！紧急")
    assert len(texts_to(carrier, ALICE)) == 2 and len(texts_to(carrier, BOB)) == 2
    assert texts_to(carrier, OTHER) == []
    found = escalation(app, escalation_id)
    assert found.reminders == 1 and found.remind_at == clock.now() + dt.timedelta(minutes=15)
    kinds = {n.kind for n in notifications(app)}
    assert kinds == {"opened", "reminder-1"}


def test_a_high_escalation_waits_an_hour_before_the_reminder(app, carrier, clock, staffed) -> None:
    open_escalation(app, staffed, reason="fever", severity="high", temperature="37.8")
    jobs = Jobs(app, worker="w")
    clock.advance(minutes=59)
    assert jobs.check_sla() == 0
    clock.advance(minutes=1)
    assert jobs.check_sla() == 1


def test_reminders_stop_after_the_third(app, carrier, clock, staffed) -> None:
    escalation_id = open_escalation(app, staffed)
    jobs = Jobs(app, worker="w")
    for _ in range(5):
        clock.advance(minutes=15)
        jobs.check_sla()
    found = escalation(app, escalation_id)
    assert found.reminders == 3 and found.remind_at is None


def test_acknowledging_stops_the_reminders(app, carrier, clock, staffed) -> None:
    escalation_id = open_escalation(app, staffed)
    jobs = Jobs(app, worker="w")
    clock.advance(minutes=15)
    jobs.check_sla()  # reminder-1 queued, not yet sent
    with session_scope(app) as session:
        escalations.acknowledge(session, escalation_id, "赵红梅", clock.now())
    clock.advance(minutes=30)
    assert jobs.check_sla() == 0
    jobs.send_alerts()
    assert carrier.messages == []  # the first texts had not gone out yet: no longer needed
    statuses = {(n.kind, n.status) for n in notifications(app)}
    assert statuses == {("opened", "cancelled"), ("reminder-1", "cancelled")}


def test_the_family_is_texted_when_a_resident_who_asked_for_it_is_unreachable(
    app, carrier, staffed
) -> None:
    with session_scope(app) as session:
        resident = session.get(Resident, staffed)
        resident.notify_family, resident.emergency_contact = True, FAMILY
    open_escalation(app, staffed, reason="unreachable", severity="high", temperature=None)
    open_escalation(app, staffed, reason="fever", severity="high", temperature="37.8")
    Jobs(app, worker="w").send_alerts()
    (text,) = texts_to(carrier, FAMILY)
    assert text.startswith("【平安】您好，中原社区今天多次致电张桂兰（138 0371 0103）未能接通")
    assert "回复" not in text  # no acknowledgement code for the family


def test_a_failed_sms_is_retried_with_backoff_then_given_up(app, carrier, clock, staffed) -> None:
    for _ in range(2):
        carrier.script_sms_failure(ALICE, 20503)
    open_escalation(app, staffed)
    jobs = Jobs(app, worker="w")
    jobs.send_alerts()
    (row,) = notifications(app, recipient=ALICE)
    assert row.status == "pending" and row.tries == 1 and "20503" in (row.error or "")
    assert (row.next_try_at - clock.now()).total_seconds() == 30
    assert jobs.send_alerts() == 0  # not due yet
    clock.advance(seconds=30)
    assert jobs.send_alerts() == 1
    (row,) = notifications(app, recipient=ALICE)
    assert row.status == "sent" and row.tries == 2 and row.error is None


def test_a_number_the_carrier_refuses_fails_at_once_and_stays_visible(
    app, carrier, staffed
) -> None:
    carrier.script_sms_failure(ALICE, 21211)
    open_escalation(app, staffed)
    Jobs(app, worker="w").send_alerts()
    (row,) = notifications(app, recipient=ALICE)
    assert row.status == "failed" and row.tries == 1 and "21211" in (row.error or "")
    assert len(texts_to(carrier, BOB)) == 1


def test_a_row_left_sending_by_a_dead_worker_is_sent_later(app, carrier, clock, staffed) -> None:
    open_escalation(app, staffed)
    with session_scope(app) as session:
        session.execute(
            update(Notification).values(status="sending", claimed_by="dead", claimed_at=clock.now())
        )
    jobs = Jobs(app, worker="w")
    assert jobs.send_alerts() == 0
    clock.advance(seconds=STUCK_AFTER_S + 1)
    assert jobs.send_alerts() == 2
    assert {n.claimed_by for n in notifications(app)} == {"w"}


def test_a_text_a_dead_worker_sent_before_it_died_is_not_sent_again(
    app, carrier, clock, staffed
) -> None:
    open_escalation(app, staffed)
    (row,) = notifications(app, recipient=ALICE)
    settings = settings_of(app)
    sid = carrier.send_sms(ALICE, settings.sms_from or settings.caller_id, TextMessage(row.body))
    with session_scope(app) as session:  # …and its worker was killed before it wrote "sent"
        session.execute(
            update(Notification)
            .where(Notification.recipient == ALICE)
            .values(status="sending", claimed_by="dead", claimed_at=clock.now())
        )
    clock.advance(seconds=STUCK_AFTER_S + 1)
    Jobs(app, worker="w").send_alerts()
    assert len(texts_to(carrier, ALICE)) == 1  # looked up on the carrier, not sent again
    (row,) = notifications(app, recipient=ALICE)
    assert row.status == "sent" and row.provider_id == sid


def test_two_workers_never_send_the_same_notification_twice(app, carrier, db_kind) -> None:
    add_community(app, "中原社区")
    phones = [f"+86139037100{i:02d}" for i in range(30)]
    for i, phone in enumerate(phones):
        staff_member(app, f"员工{i}", phone)
    resident_id = add_resident(app, "张桂兰", GRANDMA)
    open_escalation(app, resident_id)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        sender = AlertSender(
            sessions(app),
            notifiers_for(app),
            app.extensions["pingan.clock"],
            name,
            settings_of(app),
            batch=4,
        )
        try:
            start.wait()
            while sender.run_once():
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    sent = sorted(m.to for m in carrier.messages)
    assert sent == sorted(phones)  # each exactly once
    rows = notifications(app)
    assert {n.status for n in rows} == {"sent"} and {n.tries for n in rows} == {1}
    if db_kind == "postgresql":  # both really worked (SQLite serialises whole transactions)
        assert {n.claimed_by for n in rows} <= {"w1", "w2"}


@pytest.mark.parametrize("settings_overrides", [{"ack_urgent_s": 300}])
def test_the_acknowledgement_deadline_is_the_deployments_setting(
    app, carrier, clock, staffed
) -> None:
    open_escalation(app, staffed)
    jobs = Jobs(app, worker="w")
    jobs.send_alerts()
    clock.advance(minutes=4, seconds=59)
    assert jobs.check_sla() == 0
    clock.advance(seconds=1)
    assert jobs.check_sla() == 1
    jobs.send_alerts()
    assert texts_to(carrier, BOSS)[0].startswith("【平安】第1次提醒，5分钟未确认！紧急")
