"""Closing the loop in the call: community notices, orders the resident hears about, and the
release day, read after the questions and before goodbye (issue 16)."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain import news, orders
from storage import CallAttempt, CallEvent, Notification, ServiceOrder
from tests.helpers import add_resident, call_round, script
from tests.ivr.alerting import texts_to

PHONE = "+8613803710101"
NOTICE = "明天上午八点在小区门口做核酸检测，请戴好口罩。"
HEALTHY = "answer 1 365# 1 2 9 1"  # ... 9: no needs; then any key after the news


def cli_run(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code == 0, result.output
    return result.output


def heard(carrier, call: int = -1) -> list[str]:
    return [h.text for h in carrier.calls_to(PHONE)[call].heard]


def timeline(app: Flask) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        query = (
            select(CallEvent.name, CallEvent.detail)
            .join(CallAttempt, CallAttempt.id == CallEvent.attempt_id)
            .where(CallEvent.kind == "news")
            .order_by(CallEvent.id)
        )
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def test_a_notice_is_heard_once_a_day_and_not_after_its_end_date(app, jobs, carrier, clock):
    add_resident(app, "王秀英", PHONE)
    cli_run(app, "notices", "add", "中原社区", "--text", NOTICE, "--until", "2026-11-29")
    script(carrier, PHONE, *[HEALTHY] * 4)

    call_round(app, jobs, carrier, clock)
    assert "社区通知：" + NOTICE in heard(carrier)
    assert heard(carrier)[-1] == "谢谢您。祝您平安健康，再见！"
    assert timeline(app) == [("notice", NOTICE)]

    clock.advance(hours=7)  # the afternoon round: already heard today
    call_round(app, jobs, carrier, clock)
    assert not any("社区通知" in words for words in heard(carrier))

    clock.advance(hours=17)  # the next morning, its last day: read again
    call_round(app, jobs, carrier, clock)
    assert "社区通知：" + NOTICE in heard(carrier)

    clock.advance(days=1)  # after its end date
    call_round(app, jobs, carrier, clock)
    assert not any("社区通知" in words for words in heard(carrier))


def test_star_reads_the_notice_again(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    cli_run(app, "notices", "add", "all", "--text", NOTICE, "--until", "2026-11-30")
    script(carrier, PHONE, "answer 1 365# 1 2 9 * 1")
    call_round(app, jobs, carrier, clock)
    assert heard(carrier).count("社区通知：" + NOTICE) == 2
    assert [name for name, _ in timeline(app)] == ["notice", "notice"]


def test_a_removed_notice_is_not_read(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    out = cli_run(app, "notices", "add", "中原社区", "--text", NOTICE, "--until", "2026-11-30")
    notice_id = out.split()[1].rstrip(":")
    assert NOTICE in cli_run(app, "notices")
    cli_run(app, "notices", "remove", notice_id)
    script(carrier, PHONE, HEALTHY)
    call_round(app, jobs, carrier, clock)
    assert not any("社区通知" in words for words in heard(carrier))


def test_a_resident_hears_that_yesterdays_groceries_were_delivered(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 1 9", HEALTHY, HEALTHY)
    call_round(app, jobs, carrier, clock)  # asks for groceries
    with session_scope(app) as session:
        (order,) = session.scalars(select(ServiceOrder))
        orders.deliver(session, order.id, "钱建军", clock.now() + dt.timedelta(hours=3))

    clock.advance(days=1)
    call_round(app, jobs, carrier, clock)
    assert "您昨天要的买菜已经送到。" in heard(carrier)
    assert timeline(app) == [("order_delivered_yesterday", "买菜")]

    clock.advance(hours=7)  # told once
    call_round(app, jobs, carrier, clock)
    assert not any("送到" in words for words in heard(carrier))


def test_a_households_delivery_is_told_to_whichever_member_is_called(
    app, jobs, carrier, clock
) -> None:
    first = add_resident(app, "张桂兰", PHONE)
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 366# 1 2 1 9", "answer 1 367# 1 2 9 1")
    call_round(app, jobs, carrier, clock)  # the household asks for groceries
    with session_scope(app) as session:
        (order,) = session.scalars(select(ServiceOrder))
        assert order.resident_id == first
        orders.deliver(session, order.id, "钱建军", clock.now() + dt.timedelta(hours=3))

    clock.advance(days=1)
    cli_run(
        app,
        "residents",
        "hold",
        PHONE,
        "--name",
        "张桂兰",
        "--until",
        "2026-12-10",
        "--reason",
        "住院",
    )
    call_round(app, jobs, carrier, clock)  # only 李建国 is called today
    assert "您昨天要的买菜已经送到。" in heard(carrier)
    assert timeline(app) == [("order_delivered_yesterday", "买菜")]


def test_an_order_taken_with_a_delivery_time_is_told_with_it(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 2 9", HEALTHY)
    call_round(app, jobs, carrier, clock)  # asks for medicine at 09:00
    with session_scope(app) as session:
        order_id = session.scalars(select(ServiceOrder.id)).one()
    staff = ("--name", "钱建军", "--phone", "13903710011", "--community", "中原社区")
    cli_run(app, "staff", "add", *staff)
    cli_run(app, "orders", "take", str(order_id), "--by", "钱建军", "--eta", "16:30")

    clock.advance(hours=6)
    call_round(app, jobs, carrier, clock)
    assert "您要的药品已有工作人员接单，预计今天十六点三十分送达。" in heard(carrier)


def test_on_the_last_day_of_isolation_the_call_ends_with_the_release_message(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE, isolation_start=dt.date(2026, 11, 15), isolation_days=14)
    script(carrier, PHONE, HEALTHY)
    call_round(app, jobs, carrier, clock)  # 2026-11-28 is day 14
    words = heard(carrier)
    assert words[-3:] == [
        "您的居家隔离今天期满，感谢您的配合。",
        "再听一遍请按星号键，继续请按任意键。",
        "谢谢您。祝您平安健康，再见！",
    ]


def test_a_resident_in_english_hears_the_news_in_english(app, jobs, carrier, clock) -> None:
    add_resident(app, "Anna", PHONE, language="en")
    cli_run(app, "notices", "add", "中原社区", "--text", "Testing at 8.", "--until", "2026-11-28")
    script(carrier, PHONE, HEALTHY)
    call_round(app, jobs, carrier, clock)
    assert "A notice from your community: Testing at 8." in heard(carrier)


def test_a_resident_released_early_is_texted_once_and_not_when_staff_untick_it(
    app, jobs, carrier, clock
) -> None:
    start = dt.date(2026, 11, 20)
    add_resident(app, "王秀英", PHONE, isolation_start=start)
    other = "+8613803710102"
    add_resident(app, "李建国", other, isolation_start=start)
    cli_run(app, "residents", "release", PHONE, "--reason", "核酸阴性，提前解除")
    cli_run(app, "residents", "release", PHONE, "--reason", "again")  # already released
    cli_run(app, "residents", "release", other, "--no-tell")
    jobs.send_alerts()
    assert texts_to(carrier, PHONE) == ["【中原社区】您的居家隔离已由社区提前解除，感谢您的配合。"]
    assert texts_to(carrier, other) == []


def test_a_resident_released_on_their_last_day_gets_no_text(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE, isolation_start=dt.date(2026, 11, 15))  # day 14 today
    cli_run(app, "residents", "release", PHONE)
    jobs.send_alerts()
    assert texts_to(carrier, PHONE) == []


def test_every_language_has_the_words_of_the_news(app) -> None:
    catalogue = app.extensions["pingan.flow"].catalogue
    for lang in catalogue.languages:
        missing = [name for name in news.NEWS_PROMPTS if not catalogue.has(name, lang)]
        assert missing == [], lang


def test_hanging_up_during_the_notice_still_completes_the_check_in(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    cli_run(app, "notices", "add", "中原社区", "--text", NOTICE, "--until", "2026-11-28")
    script(carrier, PHONE, "answer 1 365# 1 2 9")  # hangs up once the news begins
    call_round(app, jobs, carrier, clock)
    assert "社区通知：" + NOTICE in heard(carrier)
    rows = cli_run(app, "checkins", "--json")
    assert '"status": "complete"' in rows


def test_a_resident_on_a_landline_released_early_gets_no_text_but_a_call(
    app, jobs, carrier, clock
) -> None:
    landline = "+8637165012345"  # a Zhengzhou fixed line: no text reaches it
    add_resident(app, "王秀英", landline, isolation_start=dt.date(2026, 11, 20))
    said = cli_run(app, "residents", "release", landline)
    assert "王秀英 is on a landline, which no text reaches: Pingan calls them once" in said
    assert "if nobody answers, tell them by phone." in said  # the call: test_release_calls.py
    jobs.send_alerts()
    assert texts_to(carrier, landline) == []
    with session_scope(app) as session:
        assert session.scalars(select(Notification)).all() == []
