"""An alert text the phone never got is acted on: the SMS simulator pushes its delivery report
(SmsReport) to the app's console URL, and when it says a staff alert was not delivered while the
escalation is still open, the next person on the escalation ladder (the staff on duty, then the
supervisors, then the duty phone) is texted at once. Nobody is texted one alert twice; a report
after the escalation was acknowledged, or one pushed again, changes nothing but the record.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain.escalations import acknowledge, history
from ivr.worker.jobs import Jobs
from storage import Community
from tests.aliyun.conftest import CALLBACK_SECRET, TEMPLATES
from tests.dashboard.pages import person, signed_in, text
from tests.helpers import add_resident
from tests.ivr.alerting import notifications, open_escalation, staff_member

ALICE = "+8613903710011"  # 赵红梅, on duty
BOB = "+8613903710022"  # 钱卫国, on duty
BOSS = "+8613903710033"  # 孙主任, the sub-district's supervisor (not on a community's duty)
DUTY = "+8613903710099"  # the community's duty phone, the ladder's last rung
GRANDMA = "+8613803710103"
REPORTS = f"/aliyun/{CALLBACK_SECRET}/sms-report"


@pytest.fixture
def community(app) -> int:
    staff_member(app, "赵红梅", ALICE)
    person(app, "孙主任", BOSS, None, "supervisor")  # can sign in to the dashboard
    return add_resident(app, "张桂兰", GRANDMA)


def set_duty_phone(app, phone: str) -> None:
    with session_scope(app) as session:
        session.scalars(select(Community)).one().duty_phone = phone


def send(app, sms_platform) -> int:
    """One run of the SMS sender, and every report it caused pushed and answered."""
    sent = Jobs(app, worker="w").send_texts()
    assert sms_platform.wait_idle()
    return sent


def texts(sms_platform, phone: str) -> list[str]:
    return [m.template for m in sms_platform.messages_to(phone)]


def trail(app, escalation_id: int, action: str) -> list[str]:
    with session_scope(app) as session:
        return [e.detail or "" for e in history(session, escalation_id) if e.action == action]


def test_an_alert_the_duty_phone_never_got_is_texted_to_the_supervisor_at_once(
    app, server, sms_platform, community, clock
) -> None:
    escalation_id = open_escalation(app, community)
    sms_platform.unreachable.add(ALICE)  # 赵红梅's phone is switched off
    assert send(app, sms_platform) == 1
    (passed_on,) = notifications(app, recipient=BOSS)
    assert (passed_on.kind, passed_on.status) == ("opened", "pending")
    assert passed_on.next_try_at <= clock.now()  # due at once, not at the SLA reminder
    assert send(app, sms_platform) == 1
    assert texts(sms_platform, BOSS) == [TEMPLATES["opened"]]
    (passed_on,) = notifications(app, recipient=BOSS)
    assert (passed_on.status, passed_on.delivery) == ("sent", "delivered")
    (entry,) = trail(app, escalation_id, "sms_passed_on")
    assert entry == "opened: 赵红梅 +86139****0011 → 孙主任 +86139****0033"
    page = text(signed_in(app, "13903710033").get(f"/escalations/{escalation_id}"))
    assert "短信未送达" in page and "短信改发下一位" in page
    assert texts(sms_platform, ALICE) == [TEMPLATES["opened"]]  # not tried again


def test_each_failure_moves_one_rung_and_nobody_is_texted_twice(
    app, server, sms_platform, community
) -> None:
    staff_member(app, "钱卫国", BOB)
    set_duty_phone(app, DUTY)
    escalation_id = open_escalation(app, community)
    sms_platform.unreachable.update({ALICE, BOB, BOSS})
    assert send(app, sms_platform) == 2  # both on duty; both reports say "not delivered"
    # Whichever report came first, the supervisor and then the duty phone were told.
    assert {row.recipient for row in notifications(app, status="pending")} == {BOSS, DUTY}
    assert send(app, sms_platform) == 2  # the supervisor's text fails too: nobody is left
    assert send(app, sms_platform) == 0
    for phone in (ALICE, BOB, BOSS, DUTY):
        assert texts(sms_platform, phone) == [TEMPLATES["opened"]], phone
    entries = trail(app, escalation_id, "sms_passed_on")
    assert len(entries) == 3 and entries[-1] == (
        "opened: 孙主任 +86139****0033 → nobody left on the ladder"
    )


def test_an_undelivered_reminder_goes_to_the_next_rung_not_yet_reminded(
    app, server, sms_platform, community, clock
) -> None:
    set_duty_phone(app, DUTY)
    escalation_id = open_escalation(app, community)
    assert send(app, sms_platform) == 1
    sms_platform.unreachable.add(ALICE)
    clock.advance(seconds=settings_of(app).ack_urgent_s)
    assert Jobs(app, worker="w").check_sla() == 1  # reminder-1 to 赵红梅 and 孙主任
    assert send(app, sms_platform) == 2
    (passed_on,) = notifications(app, recipient=DUTY)
    assert passed_on.kind == "reminder-1"
    assert send(app, sms_platform) == 1
    assert texts(sms_platform, DUTY) == [TEMPLATES["reminder"]]
    assert texts(sms_platform, BOSS) == [TEMPLATES["reminder"]]  # once, though passed over
    assert trail(app, escalation_id, "sms_passed_on") == [
        "reminder-1: 赵红梅 +86139****0011 → +86139****0099"
    ]


def failed_report(app) -> dict[str, object]:
    (row,) = notifications(app, recipient=ALICE)
    return {
        "phone_number": "13903710011",
        "send_time": "2026-11-28 09:00:01",
        "report_time": "2026-11-28 09:00:04",
        "success": False,
        "err_code": "MOBILE_NOT_ON_SERVICE",
        "err_msg": "停机、空号、暂停服务、关机、不在服务区",
        "sms_size": "1",
        "biz_id": row.provider_id,
        "out_id": f"pingan-notification-{row.id}",
    }


def test_a_failure_reported_after_acknowledgement_changes_only_the_record(
    app, sms_platform, community, clock
) -> None:
    escalation_id = open_escalation(app, community)
    assert send(app, sms_platform) == 1  # no report URL yet: the report is late
    with session_scope(app) as session:
        acknowledge(session, escalation_id, "staff:1", clock.now())
    answered = app.test_client().post(REPORTS, json=[failed_report(app)])
    assert answered.get_json() == {"code": 0, "msg": "接收成功"}
    (row,) = notifications(app, recipient=ALICE)
    assert (row.delivery, row.delivery_code) == ("failed", "MOBILE_NOT_ON_SERVICE")
    assert len(trail(app, escalation_id, "sms_undelivered")) == 1
    assert notifications(app, recipient=BOSS) == []
    assert trail(app, escalation_id, "sms_passed_on") == []


def test_a_report_pushed_again_passes_nothing_on_again(
    app, server, sms_platform, community
) -> None:
    escalation_id = open_escalation(app, community)
    sms_platform.unreachable.add(ALICE)
    assert send(app, sms_platform) == 1
    (first,) = sms_platform.reports
    client = app.test_client()
    for _ in range(2):  # our answer was lost: the platform pushes the same array again
        assert client.post(REPORTS, json=first.reports).status_code == 200
    assert len(notifications(app, recipient=BOSS)) == 1
    assert len(trail(app, escalation_id, "sms_passed_on")) == 1
