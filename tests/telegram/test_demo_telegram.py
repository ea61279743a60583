"""`pingan demo --telegram`: a resident checks in by chat, staff acknowledge from Telegram."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.ivr.test_demo_run import demo_environment
from tests.processes import PINGAN


def test_the_demo_shows_a_chat_check_in_and_an_acknowledgement_from_telegram(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [PINGAN, "demo", "--telegram"],
        env=demo_environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "秀英: 38.6" in out and "您输入的是 38.6 °C，对吗？" in out
    assert "【平安】紧急：王秀英 高热 38.6℃" in out
    assert "红梅 taps 「确认」" in out and "bot (toast): 已确认，谢谢。" in out
    database = sqlite3.connect(tmp_path / "instance" / "pingan-demo.db")
    try:
        checkin = database.execute(
            "SELECT c.status, c.source, c.temperature_c, c.attempts FROM checkin c"
            " JOIN resident r ON r.id = c.resident_id WHERE r.name = '王秀英'"
        ).fetchone()
        escalation = database.execute(
            "SELECT e.status, e.acknowledged_by FROM escalation e"
            " JOIN resident r ON r.id = e.resident_id WHERE r.name = '王秀英'"
        ).fetchone()
    finally:
        database.close()
    assert checkin == ("complete", "telegram", 38.6, 0)
    assert escalation == ("acknowledged", "赵红梅")
