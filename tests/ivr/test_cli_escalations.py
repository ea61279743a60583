"""Staff at the command line: the escalation list, acknowledging and resolving, check-ins taken
on a resident's behalf, the order queue, and what the alert loop sent."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.jobs import Jobs
from storage import CheckIn, Community
from tests.helpers import add_resident, run_until_settled, script
from tests.ivr.alerting import escalation, open_escalation, staff_member

GRANDMA = "+8613803710103"


def run(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code == 0, result.output
    return result.output


def fails(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code != 0
    return result.output


@pytest.fixture
def people(app: Flask) -> int:
    staff_member(app, "赵红梅", "+8613903710011")
    staff_member(app, "孙丽", "+8613903710021", community="康桥华城社区")
    return add_resident(app, "张桂兰", GRANDMA, address="桐柏路88号院6号楼3单元101")


def test_staff_acknowledge_and_resolve_an_escalation(app, people) -> None:
    escalation_id = open_escalation(app, people)
    listing = json.loads(run(app, "escalations", "--status", "open", "--json"))
    assert [(r["id"], r["reason"], r["name"]) for r in listing] == [
        (escalation_id, "high_fever", "张桂兰")
    ]
    assert "high_fever" in run(app, "escalations", "--community", "中原社区")
    assert run(app, "escalations", "--community", "康桥华城社区").count("high_fever") == 0
    out = run(app, "escalations", "ack", str(escalation_id), "--by", "赵红梅")
    assert out.strip() == f"escalation {escalation_id} acknowledged by 赵红梅"
    run(
        app,
        "escalations",
        "resolve",
        str(escalation_id),
        "--by",
        "13903710011",
        "--outcome",
        "visited",
        "--note",
        "上门复测 37.6，已联系社区医生",
    )
    found = escalation(app, escalation_id)
    assert (found.status, found.outcome, found.resolved_by) == ("resolved", "visited", "赵红梅")
    history = json.loads(run(app, "escalations", "history", str(escalation_id), "--json"))
    assert [(h["actor"], h["action"]) for h in history] == [
        ("system", "opened"),
        ("赵红梅", "acknowledged"),
        ("赵红梅", "resolved"),
    ]
    assert history[-1]["detail"] == "visited: 上门复测 37.6，已联系社区医生"
    (row,) = json.loads(run(app, "escalations", "--json"))
    assert row["acknowledged_at"] and row["resolved_at"] >= row["acknowledged_at"]
    assert (row["outcome"], row["note"]) == ("visited", "上门复测 37.6，已联系社区医生")


def test_wrong_commands_explain_themselves(app, people) -> None:
    escalation_id = open_escalation(app, people)
    assert "no active staff member" in fails(app, "escalations", "ack", "1", "--by", "nobody")
    assert "there is no escalation 99" in fails(app, "escalations", "ack", "99", "--by", "赵红梅")
    assert "there is no escalation 99" in fails(app, "escalations", "history", "99")
    # 孙丽 works for 康桥华城社区: as on the dashboard and by SMS, not for 中原社区's residents.
    assert "孙丽 does not act for 中原社区" in fails(
        app, "escalations", "ack", str(escalation_id), "--by", "孙丽"
    )
    run(app, "escalations", "ack", str(escalation_id), "--by", "赵红梅")
    assert "already acknowledged by 赵红梅" in fails(
        app, "escalations", "ack", str(escalation_id), "--by", "赵红梅"
    )
    assert "Invalid value for '--outcome'" in fails(
        app, "escalations", "resolve", "1", "--by", "赵红梅", "--outcome", "x", "--note", "n"
    )


def test_a_check_in_recorded_by_staff_counts_for_the_round_and_stops_the_calls(
    app, jobs, carrier, clock, people
) -> None:
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        community = session.scalars(select(Community).where(Community.name == "中原社区")).one()
        start_manual_round(session, community, settings, clock.now())
    out = run(
        app,
        "checkins",
        "record",
        "138 0371 0103",
        "--temperature",
        "37.8",
        "--symptoms",
        "no",
        "--need",
        "medicine",
        "--by",
        "赵红梅",
        "--note",
        "上门",
    )
    assert "recorded by 赵红梅" in out
    assert jobs.dial() == 0 and carrier.calls_to(GRANDMA) == []
    (row,) = json.loads(run(app, "checkins", "--json"))
    assert (row["status"], row["source"], row["temperature_c"]) == ("complete", "staff", 37.8)
    assert row["needs"] == ["medicine"] and row["round"] is not None
    reasons = [r["reason"] for r in json.loads(run(app, "escalations", "--json"))]
    assert reasons == ["fever"]
    (order,) = json.loads(run(app, "orders", "--json"))
    assert (order["need"], order["status"], order["name"]) == ("medicine", "open", "张桂兰")


def test_a_check_in_recorded_after_a_failed_call_stops_the_scheduled_retry(
    app, jobs, carrier, clock, people
) -> None:
    script(carrier, GRANDMA, "busy", "answer 1 365# 1 2 9")
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        community = session.scalars(select(Community).where(Community.name == "中原社区")).one()
        start_manual_round(session, community, settings, clock.now())
    jobs.dial()
    assert carrier.wait_idle(30)
    run(app, "checkins", "record", GRANDMA, "--temperature", "36.6", "--by", "赵红梅")

    run_until_settled(jobs, carrier, clock)
    assert len(carrier.calls_to(GRANDMA)) == 1  # the busy one; the retry never happened
    (row,) = json.loads(run(app, "checkins", "--json"))
    assert (row["status"], row["source"], row["attempts"]) == ("complete", "staff", 1)


def test_a_check_in_recorded_outside_a_round_is_ad_hoc(app, clock, people) -> None:
    run(app, "checkins", "record", GRANDMA, "--temperature", "36.6", "--by", "赵红梅")
    with session_scope(app) as session:
        (checkin,) = session.scalars(select(CheckIn)).all()
        assert checkin.round_id is None and checkin.status == "complete"
        assert checkin.source == "staff" and str(checkin.temperature_c) == "36.6"
    assert json.loads(run(app, "escalations", "--json")) == []


def test_orders_are_taken_and_delivered_from_the_command_line(app, people) -> None:
    run(app, "checkins", "record", GRANDMA, "--need", "groceries", "--by", "赵红梅")
    (order,) = json.loads(run(app, "orders", "--status", "open", "--json"))
    assert "孙丽 does not act for 中原社区" in fails(
        app, "orders", "take", str(order["id"]), "--by", "孙丽"
    )
    run(app, "orders", "take", str(order["id"]), "--by", "赵红梅")
    assert "taken" in run(app, "orders", "--community", "中原社区")
    out = run(app, "orders", "deliver", str(order["id"]), "--by", "赵红梅", "--note", "米面油")
    assert out.strip() == f"order {order['id']} (groceries, 张桂兰): delivered"
    assert "already delivered" in fails(app, "orders", "take", str(order["id"]), "--by", "赵红梅")
    (done,) = json.loads(run(app, "orders", "--status", "delivered", "--json"))
    assert (done["taken_by"], done["note"]) == ("赵红梅", "米面油")
    stats = json.loads(run(app, "orders", "stats", "--json"))
    assert stats == [{"community": "中原社区", "date": "2026-11-28", "opened": 1, "delivered": 1}]


def test_notifications_show_what_was_sent_and_what_failed(app, carrier, people) -> None:
    carrier.script_sms_failure("+8613903710011", 21211)
    run(app, "chat", "中原社区", "--url", "http://127.0.0.1:9/robot?key=abc", "--format", "wecom")
    assert "127.0.0.1:9" in run(app, "chat") and "key=abc" not in run(app, "chat")
    open_escalation(app, people)
    Jobs(app, worker="w").send_alerts()
    rows = json.loads(run(app, "notifications", "--status", "failed", "--json"))
    assert {(r["channel"], r["to"]) for r in rows} == {("sms", "+8613903710011")}
    pending = json.loads(run(app, "notifications", "--status", "pending", "--json"))
    assert [(r["channel"], r["to"], r["tries"]) for r in pending] == [("wecom", "127.0.0.1:9", 1)]
    assert "21211" in run(app, "notifications")
    assert "no group chat" in run(app, "chat", "中原社区", "--off")
