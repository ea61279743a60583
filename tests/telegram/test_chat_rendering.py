"""The chat rendering of the check-in flow: typed readings, the buttons and their data."""

from __future__ import annotations

import pytest
import requests

from callflows import load_flow
from callflows.engine import FlowState
from ivr.carriers.telegram import chat
from ivr.carriers.telegram.double import BotApiDouble
from ivr.carriers.telegram.notifier import buttons
from tests.telegram.conftest import TOKEN


@pytest.mark.parametrize(
    ("typed", "keys", "problem"),
    [
        ("36.5", "36*5", None),
        ("36,5", "36*5", None),
        ("３６．５", "36*5", None),
        (" 37.2°C ", "37*2", None),
        ("36.5度", "36*5", None),
        ("365", "365", None),
        ("37", "37", None),
        ("三十六点五", None, "chinese_numerals"),
        ("三十七", None, "chinese_numerals"),
        ("hot", None, "use_buttons"),
        ("36.5.1", None, "use_buttons"),
        ("", None, "use_buttons"),
    ],
)
def test_a_typed_temperature_is_read_as_the_keypad_would_key_it(typed, keys, problem) -> None:
    assert chat.typed_number(typed) == chat.Typed(keys, problem)


def test_the_number_pad_keeps_a_short_entry_with_one_point() -> None:
    entry = ""
    for key in ["3", "6", ".", ".", "5", "<", "8", "1", "1"]:
        entry = chat.pad_entry(entry, key)
    assert entry == "36.81"
    assert chat.as_keys("36.5") == "36*5" and chat.as_keys("7") == "7#"


def every_screen_state(flow) -> list[dict]:
    states = []
    for name, step in flow.steps.items():
        states.append(FlowState(step=name).dump())
        if step.type == "number":
            states.append(FlowState(step=name, phase="confirm", pending="36.5").dump())
        if step.type == "multi":
            states.append(
                FlowState(step=name, phase="more", chosen=tuple(step.options.values())).dump()
            )
    return states


def test_every_button_of_the_flow_fits_telegrams_64_bytes_even_with_huge_ids() -> None:
    flow = load_flow()
    big = 10**12 - 1
    datas = [
        b.data
        for state in every_screen_state(flow)
        for row in chat.keyboard(flow, state, "zh-CN", big, 999999)
        for b in row
    ]
    markup = buttons(big, "open")
    assert markup is not None
    datas += [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
    assert len(datas) > 20
    assert max(len(d.encode()) for d in datas) <= 64
    assert all(chat.decode(d) is not None for d in datas if d[0] in "kp")
    with pytest.raises(ValueError):
        chat.Button("x", "k:" + "9" * 70)


def test_the_double_refuses_what_telegram_refuses(clock) -> None:
    double = BotApiDouble(TOKEN, clock)
    try:
        double.user(42, "桂兰")
        url = f"{double.base_url}/bot{TOKEN}/sendMessage"

        def send(**body):
            return requests.post(url, json=body, timeout=5).json()

        assert send(chat_id=42, text="你好")["ok"]
        too_long = {"inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]}
        assert send(chat_id=42, text="a", reply_markup=too_long)["description"].endswith(
            "BUTTON_DATA_INVALID"
        )
        assert send(chat_id=43, text="a")["description"] == "Bad Request: chat not found"
        bad_html = send(chat_id=42, text="<b>张</i>", parse_mode="HTML")
        assert bad_html["error_code"] == 400 and "can't parse entities" in bad_html["description"]
        assert (
            "can't parse entities"
            in send(chat_id=42, text="<p>x</p>", parse_mode="HTML")["description"]
        )
        assert send(chat_id=42, text="a & b", parse_mode="HTML")["ok"] is False
        assert (
            send(chat_id=42, text="<b>a &amp; b</b>", parse_mode="HTML")["result"]["text"]
            == "a & b"
        )
        assert send(chat_id=42, text="36.5", parse_mode="MarkdownV2")["ok"] is False
        assert send(chat_id=42, text=" ")["description"] == "Bad Request: message text is empty"
        wrong_token = requests.post(f"{double.base_url}/bot1:x/getWebhookInfo", timeout=5)
        assert wrong_token.status_code == 401
        hook = requests.post(
            f"{double.base_url}/bot{TOKEN}/setWebhook",
            json={"url": "http://example.org/hook", "secret_token": "s"},
            timeout=5,
        ).json()
        assert "HTTPS" in hook["description"]
    finally:
        double.close()
