"""A household on Telegram: residents sharing one phone, linked once, check in as one chat
that asks each member in turn, like the household call; whoever the chat did not settle is
called after the grace, and only they."""

from __future__ import annotations

from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from storage import CheckIn, Escalation, Resident, TelegramLink
from tests.helpers import add_resident, run_until_settled, script
from tests.telegram.conftest import link

LANDLINE = "+8637165123456"


def couple(app) -> tuple[int, int]:
    return add_resident(app, "张桂兰", LANDLINE), add_resident(app, "李建国", LANDLINE)


def checkins(app) -> dict[str, tuple]:
    """Each resident's check-in: status, °C, symptoms, reached, attempts, source."""
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.name, CheckIn).join(Resident, Resident.id == CheckIn.resident_id)
        ).all()
        return {
            name: (c.status, c.temperature_c, c.symptoms, c.reached, c.attempts, c.source)
            for name, c in rows
        }


def escalations(app) -> list[tuple[str, str]]:
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.name, Escalation.reason)
            .join(Resident, Resident.id == Escalation.resident_id)
            .order_by(Escalation.id)
        ).all()
    return [(name, reason) for name, reason in rows]


def asked(app, jobs, double):
    """The couple linked by one household code to the daughter's chat, and the round's chat
    sent: one chat check-in for both."""
    zhang, _li = couple(app)
    daughter = double.user(5550009, "小张")
    link(app, daughter, resident_id=zhang, role="contact", household=True)
    assert "张桂兰、李建国" in daughter.last().text
    jobs.start_rounds()
    assert jobs.chat_checkins() == 1
    return daughter


def test_a_household_checks_in_by_one_chat_and_only_the_member_away_is_called(
    app, jobs, double, webhook, carrier, clock
) -> None:
    daughter = asked(app, jobs, double)
    assert jobs.dial() == 0  # the call waits for the grace period
    daughter.tap("开始")
    first = daughter.last().text
    assert first.startswith("今天要登记2位：张桂兰、李建国。\n先登记张桂兰。")
    assert "张桂兰不在家" in daughter.buttons()
    daughter.send("38.6")
    daughter.tap("对")
    daughter.tap("没有")
    assert daughter.last().text.startswith("下面登记李建国。")
    assert daughter.buttons()[-1] == "李建国不在家"
    # 张桂兰's answers are in, and her check-in closed: the call will not ask her again.
    assert checkins(app)["张桂兰"][:2] == ("complete", Decimal("38.6"))
    assert escalations(app) == [("张桂兰", "high_fever")]

    daughter.tap("李建国不在家")
    needs = daughter.last().text
    assert "好的，李建国我们下次再登记。" in needs and "您需要帮忙吗" in needs
    assert "李建国不在家" not in daughter.buttons()
    daughter.tap("买药")
    daughter.tap("没有了")
    assert daughter.last().text == "谢谢您。祝您平安健康，再见！"
    assert sum("您需要帮忙吗" in m.text for m in daughter.chat.messages) == 1  # once

    found = checkins(app)
    assert found["张桂兰"] == ("complete", Decimal("38.6"), False, True, 0, "telegram")
    assert found["李建国"] == ("pending", None, None, False, 0, "call")
    with session_scope(app) as session:
        zhang = session.scalars(
            select(CheckIn).join(Resident).where(Resident.name == "张桂兰")
        ).one()
        assert zhang.needs == ["medicine"]  # the household's needs, as on the call

    script(carrier, LANDLINE, "answer 1 367# 1 2 9")
    clock.advance(minutes=29)
    assert jobs.dial() == 0
    clock.advance(minutes=1)
    run_until_settled(jobs, carrier, clock)
    (call,) = carrier.calls_to(LANDLINE)
    heard = call.heard_text()
    assert "今天还要登记李建国。" in heard and "张桂兰" not in heard
    found = checkins(app)
    assert found["李建国"][:2] == ("complete", Decimal("36.7"))
    assert found["李建国"][5] == "call"
    assert found["张桂兰"][4] == 0  # never called
    print("\n".join(daughter.transcript()))


def test_a_redelivered_update_and_a_stale_button_of_the_last_member_change_nothing(
    app, jobs, double, webhook
) -> None:
    daughter = asked(app, jobs, double)
    daughter.tap("开始")
    daughter.send("36.5")
    daughter.tap("对")
    no = daughter.tap_update("没有")
    assert double.deliver(no) == 200
    moved_on = checkins(app), daughter.last().text
    assert moved_on[1].startswith("下面登记李建国。")
    assert double.deliver(no) == 200  # Telegram delivers it again
    assert (checkins(app), daughter.last().text) == moved_on

    # 张桂兰's "不在家" and "有" under her symptoms question, after moving on to 李建国.
    passed = next(m for m in reversed(daughter.chat.messages) if "不舒服" in m.text)
    for label, data in passed.buttons():
        assert len(data.encode()) <= 64
        stale = daughter.press_update(passed, data)
        assert double.deliver(stale) == 200
        assert double.callbacks[stale["callback_query"]["id"]] == "这道题已经过去了", label
    assert (checkins(app), daughter.last().text) == moved_on
    assert checkins(app)["张桂兰"][:3] == ("complete", Decimal("36.5"), False)
    assert checkins(app)["李建国"][0] == "pending"


def test_unlinking_mid_check_in_calls_the_members_still_due_at_once_and_once(
    app, jobs, double, webhook, carrier, clock
) -> None:
    daughter = asked(app, jobs, double)
    daughter.tap("开始")
    daughter.send("36.5")
    daughter.tap("对")
    daughter.tap("没有")  # 张桂兰 done; 李建国's question on screen
    assert daughter.send("/unlink") == 200
    before = checkins(app)
    daughter.tap("李建国不在家")
    assert double.callbacks[max(double.callbacks)] == "这道题已经过去了"
    assert checkins(app) == before
    script(carrier, LANDLINE, "answer 1 366# 1 2 9")
    run_until_settled(jobs, carrier, clock)  # no clock jump: the call is due now
    (call,) = carrier.calls_to(LANDLINE)
    assert "今天还要登记李建国。" in call.heard_text()
    found = checkins(app)
    assert found["张桂兰"][5] == "telegram" and found["张桂兰"][4] == 0
    assert found["李建国"][:2] == ("complete", Decimal("36.6"))
    with session_scope(app) as session:
        assert session.scalars(select(TelegramLink)).all() == []


def test_a_household_code_covers_a_member_added_later_and_is_made_by_the_cli(
    app, jobs, double, webhook
) -> None:
    couple(app)
    runner = CliRunner()
    made = runner.invoke(cli, ["residents", "link", "037165123456", "--household"], obj=Pingan(app))
    assert made.exit_code == 0, made.output
    assert "link code for 张桂兰、李建国 (+86371****3456), resident, household:" in made.output
    assert LANDLINE not in made.output
    code = made.output.split("code for", 1)[1].split(": ", 1)[1].split()[0]
    grandma = double.user(5550011, "桂兰")
    grandma.send(f"/start {code}")
    add_resident(app, "李小宝", LANDLINE)  # a grandchild moves in
    jobs.start_rounds()
    assert jobs.chat_checkins() == 1
    grandma.tap("开始")
    assert grandma.last().text.startswith("今天要登记3位：张桂兰、李建国、李小宝。")
    add_resident(app, "王芳", "+8613803710199")
    refused = runner.invoke(
        cli, ["residents", "link", "13803710199", "--household"], obj=Pingan(app)
    )
    assert refused.exit_code != 0 and "leave out --household" in refused.output
