"""The resident page hands out Telegram link codes and unlinks with one button, for staff of
the resident's community only."""

from __future__ import annotations

import re

from tests.dashboard.pages import make_people, post, signed_in, text


def test_staff_make_a_code_on_the_resident_page_that_links_a_chat_and_unlink_it_there(
    app, double, webhook
) -> None:
    people = make_people(app)
    client = signed_in(app, people.staff_a)
    page = f"/residents/{people.resident_a}"
    assert "已绑定 0 个 Telegram 聊天。" in text(client.get(page))
    made = post(client, f"{page}/telegram-code", {"role": "contact"}, follow_redirects=True)
    code = re.search(r"绑定码 ([A-Z0-9]{8})：", text(made))
    assert code is not None
    family = double.user(5550009, "小李")
    family.send(f"/start {code.group(1)}")
    assert "替 李建国" in family.last().text
    assert "已绑定 1 个 Telegram 聊天。" in text(client.get(page))
    done = post(client, f"{page}/telegram-unlink", follow_redirects=True)
    assert "已解除 李建国 的 Telegram 绑定（1 个聊天）。" in text(done)
    other = signed_in(app, people.staff_b)
    refused = post(other, f"{page}/telegram-code", {"role": "resident"})
    assert refused.status_code == 404
    assert post(client, f"{page}/telegram-code", {"role": "boss"}).status_code == 400


def test_the_resident_page_offers_the_household_and_says_a_chat_check_in_was_by_chat(
    app, jobs, double, webhook
) -> None:
    from tests.dashboard.pages import A
    from tests.helpers import add_resident
    from tests.ivr.alerting import open_escalation

    people = make_people(app)
    wife = add_resident(app, "王秀英", "+8613803710102", A)  # 李建国's phone
    client = signed_in(app, people.staff_a)
    page = f"/residents/{people.resident_a}"
    assert "全家一起：李建国、王秀英" in text(client.get(page))
    assert "全家一起" not in text(client.get(f"/residents/{people.resident_b}"))
    made = post(
        client,
        f"{page}/telegram-code",
        {"role": "contact", "household": "1"},
        follow_redirects=True,
    )
    code = re.search(r"绑定码 ([A-Z0-9]{8})：", text(made))
    assert code is not None
    family = double.user(5550009, "小李")
    family.send(f"/start {code.group(1)}")
    assert "李建国、王秀英（同一个电话）" in family.last().text
    assert "已绑定 1 个 Telegram 聊天。" in text(client.get(f"/residents/{wife}"))

    escalation_id = open_escalation(app, wife, "unreachable", "high", None, "no answer")
    jobs.start_rounds()
    jobs.chat_checkins()
    family.tap("开始")
    for member in ("李建国", "王秀英"):
        assert member in family.last().text
        family.send("36.5")
        family.tap("对")
        family.tap("没有")
    family.tap("没有了")
    shown = text(client.get(f"/residents/{wife}"))
    assert "已完成 · 在聊天中报平安" in shown
    note = text(client.get(f"/escalations/{escalation_id}"))
    assert "在聊天中报平安：36.5 °C" in note  # the recovery note, in the escalation's history
    alone = post(client, f"/residents/{people.resident_b}/telegram-code", {"household": "1"})
    assert alone.status_code in (400, 404)
