"""Recovery, as a monitoring system does it: a resident nobody could reach who then checks in
(a later round, a call-back, staff on their behalf) clears their own ``unreachable`` or
``no_response`` escalation, and the staff who were alerted are told it is over.

Calls go through the real simulated carrier; the rows and the texts are the evidence.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.domain.checkins import record_on_behalf
from ivr.domain.escalations import history
from ivr.worker.jobs import Jobs
from storage import Escalation, Notification, Resident
from tests.helpers import add_resident, call_round, script
from tests.ivr.alerting import set_chat, staff_member, texts_to
from tests.ivr.test_inbound_callbacks import call_in

GRANDMA = "+8613803710103"
ALICE = "+8613903710011"
CHAT = "http://127.0.0.1:9/robot"


def only_escalation(app: Flask) -> Escalation:
    with session_scope(app) as session:
        return session.scalars(select(Escalation)).one()


def morning_unreachable(app: Flask, jobs: Jobs, carrier, clock) -> int:
    """张桂兰 answers none of the morning round's calls; 赵红梅 on duty is texted."""
    staff_member(app, "赵红梅", ALICE)
    resident_id = add_resident(app, "张桂兰", GRANDMA)
    script(carrier, GRANDMA, "no-answer", "no-answer", "no-answer")
    call_round(app, jobs, carrier, clock)
    found = only_escalation(app)
    assert (found.reason, found.status) == ("unreachable", "open")
    jobs.send_texts()
    assert len(texts_to(carrier, ALICE)) == 1
    return resident_id


def test_a_resident_busy_then_fine_has_no_open_escalation_and_staff_get_a_recovery_text(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    morning_unreachable(app, jobs, carrier, clock)
    clock.advance(hours=7)
    script(carrier, GRANDMA, "busy", "answer 1 366# 1 2 9")

    call_round(app, jobs, carrier, clock)

    found = only_escalation(app)
    assert (found.status, found.outcome, found.resolved_by) == ("resolved", "checked_in", "system")
    assert found.remind_at is None
    with session_scope(app) as session:
        trail = history(session, found.id)
    assert trail[-1].action == "resolved" and trail[-1].actor == "system"
    assert trail[-1].detail is not None and "checked_in: check-in" in trail[-1].detail
    jobs.send_texts()
    recovered = texts_to(carrier, ALICE)[-1]
    assert "已恢复" in recovered and "张桂兰" in recovered and "36.6" in recovered


def test_a_call_back_clears_an_unreachable_from_the_morning(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    morning_unreachable(app, jobs, carrier, clock)
    clock.advance(hours=2)

    call_in(server, carrier, GRANDMA, "1 365# 1 2 9")

    found = only_escalation(app)
    assert (found.status, found.outcome) == ("resolved", "checked_in")
    jobs.send_texts()
    assert "已恢复" in texts_to(carrier, ALICE)[-1]


def test_a_check_in_staff_record_clears_it_and_the_sla_reminders_stop(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    resident_id = morning_unreachable(app, jobs, carrier, clock)
    clock.advance(minutes=10)
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        settings, flow = settings_of(app), flow_of(app)
        record_on_behalf(
            session, resident, Decimal("36.8"), False, [], "赵红梅", clock.now(), settings, flow
        )
    clock.advance(hours=3)

    assert jobs.check_sla() == 0
    found = only_escalation(app)
    assert (found.status, found.outcome) == ("resolved", "checked_in")
    assert found.acknowledged_by is None  # nobody acknowledged it: the resident recovered
    jobs.send_texts()
    assert len(texts_to(carrier, ALICE)) == 2  # the alert, then the recovery; no reminder


def test_staff_who_reached_the_resident_clear_it_even_without_a_temperature(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    resident_id = morning_unreachable(app, jobs, carrier, clock)
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        record_on_behalf(
            session, resident, None, None, ["groceries"], "赵红梅", clock.now(),
            settings_of(app), flow_of(app), "上门见到本人",
        )  # fmt: skip
    found = only_escalation(app)
    assert (found.status, found.outcome) == ("resolved", "checked_in")
    assert "recorded by staff" in (found.note or "") and "no reading" in (found.note or "")


def test_the_group_chat_that_was_alerted_hears_of_the_recovery(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    staff_member(app, "赵红梅", ALICE)
    set_chat(app, CHAT, "json")
    add_resident(app, "张桂兰", GRANDMA)
    script(carrier, GRANDMA, "no-answer", "no-answer", "no-answer")
    call_round(app, jobs, carrier, clock)
    jobs.send_texts()
    with session_scope(app) as session:  # as if the chat server had taken the post
        for row in session.scalars(select(Notification).where(Notification.channel == "json")):
            row.status = "sent"
    clock.advance(hours=2)

    call_in(server, carrier, GRANDMA, "1 365# 1 2 9")

    with session_scope(app) as session:
        rows = session.scalars(select(Notification).where(Notification.kind == "recovered")).all()
        sent_to = {(n.channel, n.recipient) for n in rows}
        body = next(n.body for n in rows if n.channel == "json")
    assert sent_to == {("sms", ALICE), ("json", CHAT)}
    assert '"event": "escalation.recovered"' in body and "已恢复" in body


def test_a_fever_is_never_resolved_by_a_later_normal_reading(
    app, server, jobs: Jobs, carrier, clock
) -> None:
    staff_member(app, "赵红梅", ALICE)
    add_resident(app, "张桂兰", GRANDMA)
    script(carrier, GRANDMA, "answer 1 382# 1 2 9")
    call_round(app, jobs, carrier, clock)
    clock.advance(hours=7)

    call_in(server, carrier, GRANDMA, "1 368# 1 2 9")

    found = only_escalation(app)
    assert (found.reason, found.status) == ("fever", "open")
