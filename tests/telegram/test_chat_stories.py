"""More ways through the check-in by chat: the number pad, asking for staff, a family member
answering for the resident, and the operator's commands."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from storage import CheckIn, Escalation
from tests.helpers import add_resident
from tests.telegram.conftest import SECRET, link

ZHANG = "+8613803710103"


def test_a_family_member_answers_on_the_number_pad_and_asks_for_staff(
    app, jobs, double, webhook
) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    daughter = double.user(5550009, "小张")
    link(app, daughter, resident_id=resident_id, role="contact")
    jobs.start_rounds()
    jobs.chat_checkins()
    daughter.tap("开始")
    daughter.tap("确定")  # nothing keyed yet
    assert double.callbacks[max(double.callbacks)] == "请先输入数字"
    for key in ["3", "7", "9", "⌫", "."]:
        daughter.tap(key)
    assert double.callbacks[max(double.callbacks)] == "37."
    daughter.tap("1")
    daughter.tap("确定")
    assert daughter.last().text == "您输入的是 37.1 °C，对吗？"
    daughter.tap("重新输入")
    daughter.send("三十七点一")
    assert "阿拉伯数字" in daughter.last().text
    daughter.send("37.1")
    daughter.tap("对")
    daughter.tap("没有")
    daughter.tap("联系工作人员")
    texts = [m.text for m in daughter.chat.messages if m.from_bot]
    assert "我们已经通知工作人员" in texts[-1] and texts[-1].endswith("再见！")
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        assert (checkin.status, str(checkin.temperature_c)) == ("complete", "37.1")
        assert checkin.callback_requested is True
        reasons = sorted(session.scalars(select(Escalation.reason)))
    assert reasons == ["callback_requested"]


def test_the_operator_registers_the_webhook_and_reads_its_status(app, server, double) -> None:
    runner = CliRunner()
    setup = runner.invoke(cli, ["telegram", "setup"], obj=Pingan(app))
    assert setup.exit_code == 0, setup.output
    assert f"{server}/telegram/webhook" in setup.output
    assert double.webhook["secret_token"] == SECRET
    assert double.webhook["allowed_updates"] == ["message", "callback_query"]
    status = runner.invoke(cli, ["telegram", "status"], obj=Pingan(app))
    assert status.exit_code == 0, status.output
    assert "updates: message, callback_query" in status.output
    add_resident(app, "张桂兰", ZHANG)
    code = runner.invoke(cli, ["residents", "link", "13803710103"], obj=Pingan(app))
    assert code.exit_code == 0, code.output
    assert "link code for 张桂兰 (+86138****0103), resident:" in code.output
    assert ZHANG not in code.output


def test_a_community_posts_to_its_telegram_group_where_only_linked_staff_can_acknowledge(
    app, jobs, double, webhook
) -> None:
    from tests.ivr.alerting import open_escalation, staff_member

    staff_id = staff_member(app, "赵红梅", "+8613903710011")
    resident_id = add_resident(app, "张桂兰", ZHANG)
    room = double.group(-1001234567890, "中原社区值班群")
    runner = CliRunner()
    done = runner.invoke(
        cli, ["telegram", "group", "中原社区", "--chat", str(room.id)], obj=Pingan(app)
    )
    assert done.exit_code == 0, done.output
    staffer, neighbour = double.user(5550002, "红梅"), double.user(5550003, "邻居")
    link(app, staffer, staff_id=staff_id)
    escalation_id = open_escalation(app, resident_id)
    jobs.send_alerts()
    post = room.messages[-1]
    assert post.text.startswith("【平安】紧急：张桂兰 高热 39.2℃")
    assert neighbour.tap("确认", in_chat=room) == 200
    with session_scope(app) as session:
        assert session.get(Escalation, escalation_id).status == "open"
    assert staffer.tap("确认", in_chat=room) == 200
    assert staffer.tap("已处理", in_chat=room) == 200
    with session_scope(app) as session:
        found = session.get(Escalation, escalation_id)
        assert (found.status, found.resolved_by, found.outcome) == ("resolved", "赵红梅", "other")
    assert post.buttons() == []
