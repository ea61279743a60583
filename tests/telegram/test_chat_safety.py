"""What must never happen through the bot: a forged update, a repeat, a stale button or a
stranger changing anything, or anyone dropping out of a round."""

from __future__ import annotations

from sqlalchemy import func, select

from ivr.db import session_scope
from storage import CheckIn, Escalation, TelegramLink, TelegramUpdate
from tests.helpers import add_resident, run_until_settled
from tests.ivr.alerting import open_escalation, staff_member
from tests.telegram.conftest import link

ZHANG = "+8613803710103"
ALICE = "+8613903710011"


def checkin_row(app, resident_id: int) -> tuple:
    with session_scope(app) as session:
        c = session.scalars(select(CheckIn).where(CheckIn.resident_id == resident_id)).one()
        return (c.status, c.temperature_c, c.symptoms, c.attempts, c.next_attempt_at, c.source)


def asked(app, jobs, double, resident_id: int):
    user = double.user(5550001, "桂兰")
    link(app, user, resident_id=resident_id)
    jobs.start_rounds()
    assert jobs.chat_checkins() == 1
    return user


def test_a_resident_who_ignores_the_chat_gets_the_phone_call_after_the_grace_period(
    app, jobs, double, webhook, carrier, clock
) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    user = asked(app, jobs, double, resident_id)
    clock.advance(minutes=29)
    assert jobs.dial() == 0
    clock.advance(minutes=1)
    run_until_settled(jobs, carrier, clock)
    assert len(carrier.calls_to(ZHANG)) == 1
    status, temperature, *_rest, source = checkin_row(app, resident_id)
    assert (status, str(temperature), source) == ("complete", "36.5", "call")

    before = checkin_row(app, resident_id)
    assert user.tap("开始") == 200  # the chat's button, after the call took over
    assert double.callbacks[max(double.callbacks)] == "这道题已经过去了"
    assert checkin_row(app, resident_id) == before


def test_a_forged_update_is_refused_and_changes_nothing(app, jobs, double, webhook) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    user = asked(app, jobs, double, resident_id)
    before = checkin_row(app, resident_id)
    update = user.tap_update("开始")
    assert double.deliver(update, secret="not-the-secret") == 403
    assert double.deliver(update, secret="") == 403
    assert checkin_row(app, resident_id) == before
    assert user.buttons() == ["开始", "社区电话"]  # still the first question
    with session_scope(app) as session:
        handled = session.scalars(select(TelegramUpdate.update_id)).all()
    assert update["update_id"] not in handled


def test_a_redelivered_update_and_a_stale_button_change_nothing(app, jobs, double, webhook) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    user = asked(app, jobs, double, resident_id)
    user.tap("开始")
    typed_first = len(user.chat.messages)
    user.send("37.9")
    user.tap("对")
    yes = user.tap_update("有")
    assert double.deliver(yes) == 200
    after_yes = checkin_row(app, resident_id)
    needs_question = user.last().text
    assert double.deliver(yes) == 200  # Telegram delivers it again
    assert checkin_row(app, resident_id) == after_yes
    assert user.last().text == needs_question

    readback = next(m for m in user.chat.messages[typed_first:] if "对吗" in m.text)
    stale = user.press_update(readback, "k:1:3:2")  # "重新输入" of the passed read-back
    assert double.deliver(stale) == 200
    assert double.callbacks[stale["callback_query"]["id"]] == "这道题已经过去了"
    assert checkin_row(app, resident_id) == after_yes
    assert after_yes[:3][2] is True


def test_an_unlinked_chat_learns_nothing(app, jobs, double, webhook) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    staff_member(app, "赵红梅", ALICE)
    escalation_id = open_escalation(app, resident_id)
    asked(app, jobs, double, resident_id)
    stranger = double.user(6660001, "陌生人")
    assert stranger.send("你好") == 200
    assert stranger.send("/start WRONGCOD") == 200
    assert stranger.send("36.5") == 200
    replies = [m.text for m in stranger.chat.messages if m.from_bot]
    assert replies[0].startswith("您好！这是社区健康回访机器人。这个 Telegram 账号还没有绑定")
    assert "无效" in replies[1] and replies[2] == replies[0]
    assert not any("张桂兰" in r or "1380" in r for r in replies)
    # Buttons copied from someone else's chat do nothing for a stranger either.
    forged = stranger.press_update(stranger.chat.messages[0], "k:1:1:1")
    assert double.deliver(forged) == 200
    ack = stranger.press_update(stranger.chat.messages[0], f"a:{escalation_id}")
    assert double.deliver(ack) == 200
    with session_scope(app) as session:
        assert session.get(Escalation, escalation_id).status == "open"
        assert session.scalar(select(func.count()).select_from(TelegramLink)) == 1
    assert checkin_row(app, resident_id)[0] == "pending"


def test_a_link_code_works_once_and_unlinking_is_one_button(app, jobs, double, webhook) -> None:
    from ivr.carriers.telegram.linking import new_code
    from storage import Resident

    resident_id = add_resident(app, "张桂兰", ZHANG)
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        code = new_code(
            session,
            "赵红梅",
            app.extensions["pingan.clock"].now(),
            resident=resident,
            role="contact",
        ).code
    family = double.user(5550009, "小张")
    assert family.send(f"/start {code}") == 200
    assert "替 张桂兰" in family.last().text
    other = double.user(5550010, "别人")
    other.send(f"/start {code}")
    assert "无效" in other.last().text
    family.tap("解除绑定")
    assert family.last().text == "已解除绑定，这里不会再收到消息。"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(TelegramLink)) == 0


def test_unlinking_during_a_check_in_leaves_it_to_the_phone_call(
    app, jobs, double, webhook, carrier, clock
) -> None:
    resident_id = add_resident(app, "张桂兰", ZHANG)
    user = asked(app, jobs, double, resident_id)
    assert user.send("/unlink") == 200
    assert user.last().text == "已解除绑定，这里不会再收到消息。"
    before = checkin_row(app, resident_id)
    user.tap("开始")
    assert double.callbacks[max(double.callbacks)] == "这道题已经过去了"
    assert checkin_row(app, resident_id) == before
    clock.advance(minutes=30)
    run_until_settled(jobs, carrier, clock)
    assert len(carrier.calls_to(ZHANG)) == 1
