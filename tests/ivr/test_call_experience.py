"""What a resident hears: who is calling, how to check it is genuine, slow speech, a key for
every answer, ten seconds to key, ``*`` to hear it again, their own language and voice."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.helpers import add_community, add_resident, script
from tests.ivr.test_checkin_call_end_to_end import call_round, checkin
from tests.ivr.test_inbound_callbacks import post_incoming

PHONE = "+8613803710101"


def test_the_greeting_names_the_community_and_8_reads_its_hotline(
    app, jobs, carrier, clock
) -> None:
    add_community(app, "中原社区", hotline="+8637165123456")
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 8 1 365# 1 2 9")

    call_round(app, jobs, carrier, clock)

    (record,) = carrier.calls_to(PHONE)
    heard = [h.text for h in record.heard]
    assert heard[0] == "您好！这里是中原社区的每日健康回访电话。"
    assert heard[2] == (
        "中原社区的值班电话是：零，三，七，一，六，五，一，二，三，四，五，六。"
        "您可以随时拨打这个号码核实。"
    )
    assert heard[3] == heard[0]  # then the greeting again, and the call goes on
    assert checkin(app)["status"] == "complete"


def test_star_repeats_every_question_of_the_call(app, jobs, carrier, clock) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer * 1 * 365# * 1 * 2 * 9")

    call_round(app, jobs, carrier, clock)

    (record,) = carrier.calls_to(PHONE)
    heard = record.heard_text()
    for words in (
        "请按电话上的任意一个键",
        "请输入您的体温",
        "您输入的是三十六点五度",
        "您有没有咳嗽",
        "您需要帮忙吗",
    ):
        assert heard.count(words) == 2, words
    row = checkin(app)
    assert row["status"] == "complete" and row["temperature_c"] == 36.5


@pytest.mark.parametrize("settings_overrides", [{"speech_rate": "70%"}])
def test_speech_is_slowed_to_the_configured_rate_and_keys_wait_ten_seconds(app) -> None:
    add_resident(app, "张桂兰", PHONE)

    twiml = post_incoming(app).data.decode()

    assert '<prosody rate="70%">' in twiml
    assert 'timeout="10"' in twiml and 'numDigits="1"' in twiml


def test_a_cantonese_speaker_hears_a_cantonese_voice(app: Flask) -> None:
    add_resident(app, "陳婆婆", PHONE, language="yue")

    twiml = post_incoming(app).data.decode()

    assert 'language="yue-HK"' in twiml and 'voice="Google.yue-HK-Standard-A"' in twiml
    assert "你好！呢度係中原社区嘅每日健康回訪電話。" in twiml


def test_speech_rate_defaults_to_slower_than_normal(app: Flask) -> None:
    settings: Any = app.extensions["pingan.settings"]
    assert settings.speech_rate == "85%"
