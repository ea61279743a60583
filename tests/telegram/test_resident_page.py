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
