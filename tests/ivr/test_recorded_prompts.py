"""Recorded prompts: a community's own voice replaces text-to-speech, prompt by prompt.

The simulated carrier fetches every ``<Play>`` URL like Twilio does (and logs an error unless
it gets audio back), so these calls prove the files are served as well as referenced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result as CliRunnerResult
from flask import Flask

from ivr.carriers.simulator import SimulatedCarrier
from ivr.cli import Pingan, cli
from tests.helpers import add_community, add_resident, script
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


NOTICE_TEXT = "明天上午八点在小区门口做核酸检测，请戴好口罩。"


def add_notice(app: Flask, tmp_path: Path, audio: bytes = AUDIO) -> CliRunnerResult:
    add_community(app, "中原社区")
    upload = tmp_path / "notice.mp3"
    upload.write_bytes(audio)
    args = ["notices", "add", "中原社区", "--text", NOTICE_TEXT, "--until", "2026-11-30"]
    return CliRunner().invoke(cli, [*args, "--recording", str(upload)], obj=Pingan(app=app))


def test_a_notice_staff_recorded_is_played_in_the_call_instead_of_read(
    app, jobs, carrier, clock, tmp_path
) -> None:
    added = add_notice(app, tmp_path)
    assert added.exit_code == 0, added.output
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9 1")
    call_round(app, jobs, carrier, clock)

    (media,) = [u for r in carrier.calls_to(PHONE) for u in r.played]
    assert "/voice/notices/" in media  # fetched by the simulator as Twilio would: it is audio
    words = heard(carrier)
    assert "社区通知：" in words and NOTICE_TEXT not in words  # the text is not read over it
    assert "谢谢您。祝您平安健康，再见！" in words
    listed = CliRunner().invoke(cli, ["notices", "--json"], obj=Pingan(app=app))
    assert media.split("/voice/notices/")[1].split("?")[0] in listed.output


def test_a_notice_whose_recording_file_is_gone_is_read_by_tts_not_played_silent(
    app, jobs, carrier, clock, tmp_path, recordings
) -> None:
    add_notice(app, tmp_path)
    for audio in (recordings / "notices").iterdir():
        audio.unlink()
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9 1")
    call_round(app, jobs, carrier, clock)
    assert "社区通知：" + NOTICE_TEXT in heard(carrier)
    assert not [u for r in carrier.calls_to(PHONE) for u in r.played]


def test_a_recording_that_is_not_audio_is_refused_and_adds_no_notice(app, tmp_path) -> None:
    refused = add_notice(app, tmp_path, b"<html>not a sound</html>")
    assert refused.exit_code == 1 and "MP3 or WAV" in refused.output
    listed = CliRunner().invoke(cli, ["notices", "--json"], obj=Pingan(app=app))
    assert json.loads(listed.output) == []


def test_notice_media_is_served_only_under_its_unguessable_name(app, tmp_path) -> None:
    add_notice(app, tmp_path)
    listed = CliRunner().invoke(cli, ["notices", "--json"], obj=Pingan(app=app))
    (notice,) = json.loads(listed.output)
    client = app.test_client()
    found = client.get(f"/voice/notices/{notice['recording']}")
    assert found.status_code == 200 and found.mimetype == "audio/mpeg"
    guessed = notice["recording"].split("-")[0] + "-0000000000000000.mp3"
    assert client.get(f"/voice/notices/{guessed}").status_code == 404
    assert client.get("/voice/notices/..%2F..%2Fpingan.db").status_code == 404
