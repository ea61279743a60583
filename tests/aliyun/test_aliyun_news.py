"""The news step on Alibaba Cloud: a notice staff recorded is read by TTS (VMS callback replies
are relied on only for ``$tts$``; docs/carriers.md §4b), never played silent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ivr.cli import Pingan, cli
from tests.helpers import add_community, add_resident, call_round, script

PHONE = "+8613803710101"
NOTICE = "明天上午八点在小区门口做核酸检测，请戴好口罩。"
AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64)


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**settings_overrides, "recordings_dir": str(tmp_path / "recordings")}


def test_a_recorded_notice_is_read_by_tts_on_a_vms_call(
    app, jobs, platform, clock, tmp_path
) -> None:
    add_community(app, "中原社区")
    upload = tmp_path / "notice.mp3"
    upload.write_bytes(AUDIO)
    args = ["notices", "add", "中原社区", "--text", NOTICE, "--until", "2026-11-30"]
    added = CliRunner().invoke(cli, [*args, "--recording", str(upload)], obj=Pingan(app=app))
    assert added.exit_code == 0, added.output
    add_resident(app, "王秀英", PHONE)
    script(platform, PHONE, "answer 1 365# 1 2 9 1")
    call_round(app, jobs, platform, clock)
    (call,) = platform.calls_to(PHONE)
    assert call.errors == []
    assert "社区通知：" + NOTICE in call.heard_text()
