"""An SMS or chat outage delays the staff's alerts; it never drops them.

Alerts used to be given up after five tries (about 7.5 minutes): after a longer outage the
staff heard nothing until the SLA reminder, up to an hour later. Now an alert is tried again with
a backoff capped at ``PINGAN_ALERT_RETRY_MAX`` until it goes through or its escalation is
acknowledged or resolved; after ``PINGAN_ALERT_FALLBACK_AFTER`` failed tries it is also sent by
the other lane (SMS ↔ group chat) where that lane has nothing about it yet; and an alert still
undelivered after ``PINGAN_ALERTS_FAILING_AFTER`` shows as "alerts failing" in ``pingan health``
and on the escalation page.
"""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain import escalations
from ivr.worker.jobs import Jobs
from tests.dashboard.pages import person, signed_in, text
from tests.helpers import add_community, add_resident
from tests.ivr.alerting import notifications, open_escalation, set_chat, staff_member, texts_to
from tests.ivr.test_health import run_every_job
from tests.ivr.test_notifiers import ChatServer, chat_server  # noqa: F401 (a fixture)

ALICE = "+8613903710011"
BOB = "+8613903710012"
GRANDMA = "+8613803710103"
SERVICE_UNAVAILABLE = 20503


def staffed(app) -> int:
    staff_member(app, "赵红梅", ALICE)
    staff_member(app, "钱建军", BOB)
    return add_resident(app, "张桂兰", GRANDMA)


def run_minutes(jobs: Jobs, clock, minutes: int) -> None:
    for _ in range(minutes):
        jobs.send_alerts()
        clock.advance(minutes=1)


def test_an_alert_queued_during_an_hour_long_sms_outage_goes_out_when_sms_is_back(
    app, carrier, clock
) -> None:
    open_escalation(app, staffed(app))
    carrier.sms_outage = SERVICE_UNAVAILABLE
    jobs = Jobs(app, worker="w")
    run_minutes(jobs, clock, 60)
    rows = notifications(app, channel="sms")
    assert {r.status for r in rows} == {"pending"} and min(r.tries for r in rows) >= 12
    assert all(r.next_try_at - clock.now() <= dt.timedelta(minutes=5) for r in rows)
    carrier.sms_outage = None
    run_minutes(jobs, clock, 5)
    assert len(texts_to(carrier, ALICE)) == 1 and len(texts_to(carrier, BOB)) == 1
    assert {r.status for r in notifications(app, channel="sms")} == {"sent"}


def test_retries_stop_once_the_escalation_is_acknowledged(app, carrier, clock) -> None:
    escalation_id = open_escalation(app, staffed(app))
    carrier.sms_outage = SERVICE_UNAVAILABLE
    jobs = Jobs(app, worker="w")
    run_minutes(jobs, clock, 10)
    with session_scope(app) as session:
        escalations.acknowledge(session, escalation_id, "赵红梅", clock.now())
    carrier.sms_outage = None
    run_minutes(jobs, clock, 10)
    assert carrier.messages == []  # no text about an escalation someone already has
    assert {r.status for r in notifications(app, channel="sms")} == {"cancelled"}


def test_retries_stop_once_the_escalation_is_resolved(app, carrier, clock) -> None:
    escalation_id = open_escalation(app, staffed(app))
    carrier.sms_outage = SERVICE_UNAVAILABLE
    jobs = Jobs(app, worker="w")
    run_minutes(jobs, clock, 3)
    with session_scope(app) as session:
        escalations.resolve(session, escalation_id, "赵红梅", "visited", "", clock.now())
    carrier.sms_outage = None
    run_minutes(jobs, clock, 10)
    assert carrier.messages == []


def health(app) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["health"], obj=Pingan(app=app))
    return result.exit_code, result.output


def test_health_says_alerts_are_failing_once_an_alert_is_undelivered_for_five_minutes(
    app, server, carrier, clock
) -> None:
    open_escalation(app, staffed(app))
    carrier.sms_outage = SERVICE_UNAVAILABLE
    for phone in (ALICE, BOB):  # the alert call at 5 min is not answered: only texts are left
        carrier.script(phone, "no-answer")
    jobs = Jobs(app, worker="host-1")
    for _ in range(4):
        run_every_job(jobs)
        clock.advance(minutes=1)
    run_every_job(jobs)
    code, output = health(app)
    assert code == 0, output  # a short hiccup is not an alarm
    assert "alerts    ok" in output
    clock.advance(minutes=1)
    run_every_job(jobs)
    code, output = health(app)
    assert code == 1 and "status    warning" in output
    assert "alerts    failing: 2 SMS not delivered after 5 min (retrying)" in output
    report = app.test_client().get("/healthz").get_json()
    assert report["alerts_failing"] == {"sms": 2, "chat": 0}
    carrier.sms_outage = None
    for _ in range(5):  # the next try is at most PINGAN_ALERT_RETRY_MAX away
        clock.advance(minutes=1)
        run_every_job(jobs)
    assert health(app)[0] == 0


def test_the_escalation_page_shows_that_alerts_are_failing(app, carrier, clock) -> None:
    community = add_community(app, "中原社区")
    person(app, "赵红梅", ALICE, community, "staff")
    open_escalation(app, add_resident(app, "张桂兰", GRANDMA))
    carrier.sms_outage = SERVICE_UNAVAILABLE
    jobs = Jobs(app, worker="w")
    client = signed_in(app, "13903710011")
    run_minutes(jobs, clock, 2)
    assert "预警发送失败" not in text(client.get("/escalations"))
    run_minutes(jobs, clock, 4)
    page = text(client.get("/escalations"))
    assert "预警发送失败" in page and "1 条预警" in page
    assert "Alerts are failing" in text(client.get("/escalations?lang=en"))


def test_a_chat_post_that_keeps_failing_is_texted_to_staff_who_had_no_text(
    app,
    carrier,
    clock,
    chat_server: ChatServer,  # noqa: F811
) -> None:
    chat_server.failures = 99
    resident = add_resident(app, "张桂兰", GRANDMA)
    set_chat(app, chat_server.url, "wecom")
    open_escalation(app, resident)  # no staff yet: only the group chat is told
    staff_member(app, "赵红梅", ALICE)
    jobs = Jobs(app, worker="w")
    run_minutes(jobs, clock, 2)
    assert texts_to(carrier, ALICE) == []
    run_minutes(jobs, clock, 3)  # third failed post: the other lane
    assert len(texts_to(carrier, ALICE)) == 1
    run_minutes(jobs, clock, 30)
    assert len(texts_to(carrier, ALICE)) == 1  # once, however long the chat stays down
    (chat,) = notifications(app, channel="wecom")
    assert chat.status == "pending"  # still tried: the group should see it when it is back


def test_an_sms_that_keeps_failing_is_posted_to_a_group_chat_that_had_nothing(
    app,
    carrier,
    clock,
    chat_server: ChatServer,  # noqa: F811
) -> None:
    open_escalation(app, staffed(app))  # no chat yet: only texts
    set_chat(app, chat_server.url, "dingtalk")
    carrier.sms_outage = SERVICE_UNAVAILABLE
    jobs = Jobs(app, worker="w")
    run_minutes(jobs, clock, 10)
    assert len(chat_server.received) == 1  # one post, though two texts failed
    assert "张桂兰" in chat_server.received[0]["markdown"]["text"]
    carrier.sms_outage = None
    run_minutes(jobs, clock, 10)
    assert len(texts_to(carrier, ALICE)) == 1 and len(chat_server.received) == 1


def test_a_lane_that_already_delivered_the_alert_is_not_used_twice(
    app,
    carrier,
    clock,
    chat_server: ChatServer,  # noqa: F811
) -> None:
    chat_server.failures = 99
    resident = staffed(app)
    set_chat(app, chat_server.url, "wecom")
    open_escalation(app, resident)  # texts and a chat post, as usual
    jobs = Jobs(app, worker="w")
    run_minutes(jobs, clock, 30)
    assert len(texts_to(carrier, ALICE)) == 1 and len(texts_to(carrier, BOB)) == 1
    assert len(notifications(app)) == 3
