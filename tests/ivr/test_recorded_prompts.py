"""Recorded prompts: a community's own voice replaces text-to-speech, prompt by prompt.

The simulated carrier fetches every ``<Play>`` URL like Twilio does (and logs an error unless
it gets audio back), so these calls prove the files are served as well as referenced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from ivr.carriers.simulator import SimulatedCarrier
from ivr.cli import Pingan, cli
from tests.helpers import add_resident, script
from tests.ivr.test_checkin_call_end_to_end import call_round
from tests.ivr.test_inbound_callbacks import post_incoming

PHONE = "+8613803710101"
AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    return tmp_path / "recordings"


@pytest.fixture
def settings_overrides(recordings: Path) -> dict[str, Any]:
    return {"recordings_dir": str(recordings)}


def record(recordings: Path, lang: str, *files: str) -> None:
    folder = recordings / lang
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).write_bytes(AUDIO)


def played(carrier: SimulatedCarrier) -> list[str]:
    return [
        url.split("/voice/prompts/", 1)[1].split("?")[0]
        for r in carrier.calls_to(PHONE)
        for url in r.played
    ]


def heard(carrier: SimulatedCarrier) -> str:
    return " ".join(r.heard_text() for r in carrier.calls_to(PHONE))


def test_recorded_prompts_replace_text_to_speech(app, jobs, carrier, clock, recordings) -> None:
    record(
        recordings,
        "zh-CN",
        "greeting.1.mp3",
        "greeting.2.mp3",
        "press_any_key.mp3",
        "temperature_readback.1.mp3",
        "temperature_readback.2.wav",
    )
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)

    assert played(carrier) == [
        "zh-CN/greeting.1.mp3",
        "zh-CN/greeting.2.mp3",
        "zh-CN/press_any_key.mp3",
        "zh-CN/temperature_readback.1.mp3",
        "zh-CN/temperature_readback.2.wav",
    ]
    words = heard(carrier)
    assert "中原社区" in words  # the community name between the recorded parts, by TTS
    assert "三十六点五" in words  # the read-back value, by TTS
    assert "您好" not in words and "请按电话上的任意一个键" not in words  # recorded, not spoken
    assert "请输入您的体温" in words  # not recorded: still spoken
    assert all(not r.errors for r in carrier.calls_to(PHONE))


def test_a_prompt_missing_one_of_its_parts_is_spoken_whole_by_tts(
    app, jobs, carrier, clock, recordings
) -> None:
    record(recordings, "zh-CN", "greeting.1.mp3")
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)

    assert played(carrier) == []
    assert "您好！这里是中原社区的每日健康回访电话。" in heard(carrier)


def test_numbers_in_a_recorded_cantonese_readback_are_spoken_in_cantonese(
    app, jobs, carrier, clock, recordings
) -> None:
    record(recordings, "yue", "temperature_readback.1.mp3", "temperature_readback.2.mp3")
    record(recordings, "zh-CN", "temperature_readback.1.mp3", "temperature_readback.2.mp3")
    add_resident(app, "陳婆婆", PHONE, language="yue")
    script(carrier, PHONE, "answer 1 372# 1 2 9")
    call_round(app, jobs, carrier, clock)

    assert played(carrier) == ["yue/temperature_readback.1.mp3", "yue/temperature_readback.2.mp3"]
    (record_,) = carrier.calls_to(PHONE)
    number = next(h for h in record_.heard if h.text == "三十七點二")
    assert number.language == "yue-HK"


def test_a_new_recording_is_used_at_once_without_a_restart(app, recordings) -> None:
    add_resident(app, "张桂兰", PHONE)
    before = post_incoming(app, CallSid="CA" + "1" * 32).data.decode()
    record(recordings, "zh-CN", "press_any_key.mp3")
    after = post_incoming(app, CallSid="CA" + "3" * 32).data.decode()

    assert "<Play>" not in before
    assert "/voice/prompts/zh-CN/press_any_key.mp3?v=" in after
    assert after.index("<Gather") < after.index("<Play>") < after.index("</Gather>")


def test_recordings_are_served_as_audio(app, recordings) -> None:
    record(recordings, "zh-CN", "goodbye.mp3")
    record(recordings, "en", "goodbye.wav")
    client = app.test_client()

    mp3 = client.get("/voice/prompts/zh-CN/goodbye.mp3")
    wav = client.get("/voice/prompts/en/goodbye.wav")

    assert (mp3.status_code, mp3.mimetype, mp3.data) == (200, "audio/mpeg", AUDIO)
    assert (wav.status_code, wav.mimetype) == (200, "audio/wav")


@pytest.mark.parametrize(
    "path",
    [
        "/voice/prompts/zh-CN/greeting.mp3",  # not recorded
        "/voice/prompts/zh-CN/notes.txt",  # not a recording
        "/voice/prompts/zh-CN/..%2F..%2Fpingan.db",
        "/voice/prompts/..%2Fzh-CN/goodbye.mp3",
        "/voice/prompts/fr/goodbye.mp3",  # not a language of the catalogue
        "/voice/prompts/zh-CN/%2Fetc%2Fpasswd",
    ],
)
def test_anything_but_a_recording_is_not_found(app, recordings, path: str) -> None:
    record(recordings, "zh-CN", "goodbye.mp3", "notes.txt")
    assert app.test_client().get(path).status_code == 404


def test_prompts_list_shows_each_prompt_with_its_words_and_recording(
    app: Flask, recordings
) -> None:
    record(recordings, "en", "goodbye.mp3", "greeting.1.mp3", "hotline.1.mp3")
    result = CliRunner().invoke(cli, ["prompts", "list", "--lang", "en"], obj=Pingan(app=app))

    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines()[2:]}
    assert "yes" in lines["goodbye"] and "Thank you. Stay well. Goodbye." in lines["goodbye"]
    assert "yes" in lines["greeting"]  # its second part is only "." and needs no file
    assert "1 of 3 parts (TTS)" in lines["hotline"]
    assert "no (TTS)" in lines["identify_ask_phone"]


def test_the_record_sheet_names_every_file_with_the_words_to_say(app: Flask, recordings) -> None:
    record(recordings, "zh-CN", "goodbye.mp3")
    runner = CliRunner()
    sheet = runner.invoke(cli, ["prompts", "record-sheet", "--lang", "zh-CN"], obj=Pingan(app=app))
    missing = runner.invoke(
        cli, ["prompts", "record-sheet", "--lang", "zh-CN", "--missing"], obj=Pingan(app=app)
    )

    assert sheet.exit_code == 0, sheet.output
    assert f"{recordings / 'zh-CN'}/" in sheet.output
    assert "temperature_readback.1.mp3  您输入的是\n" in sheet.output
    assert "temperature_readback.2.mp3  度。正确请按1，重新输入请按2。\n" in sheet.output
    assert "goodbye.mp3  谢谢您。祝您平安健康，再见！ (recorded)" in sheet.output
    assert "goodbye.mp3" not in missing.output and "greeting.1.mp3" in missing.output
