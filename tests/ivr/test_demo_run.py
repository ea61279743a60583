"""`pingan demo`, as the README's run command runs it: a fresh SQLite database in the instance
folder, one round through the simulated carrier, and a summary that covers every scripted
resident behaviour."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

from ivr.tables import width
from tests.processes import PINGAN


def demo_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "TWILIO_"))}
    env["PINGAN_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


def run_demo(tmp_path: Path, *options: str, **settings: str) -> str:
    env = {**demo_environment(tmp_path), **settings}
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = subprocess.run(
        [PINGAN, "demo", *options],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "instance" / "pingan-demo.db").exists()
    assert list(elsewhere.iterdir()) == []  # nothing written where it was started
    return done.stdout


def row(summary: str, name: str) -> list[str]:
    line = next(line for line in summary.splitlines() if f" {name} " in line)
    return re.split(r"\s{2,}", line.strip())


def notes(tmp_path: Path, name: str) -> str:
    database = sqlite3.connect(tmp_path / "instance" / "pingan-demo.db")
    try:
        return database.execute("SELECT notes FROM resident WHERE name = ?", (name,)).fetchone()[0]
    finally:
        database.close()


def cell_starts(line: str) -> tuple[int, ...]:
    """The display columns where a table line's cells begin."""
    return tuple(width(line[: m.start()]) for m in re.finditer(r"(?:^|(?<=  ))\S", line))


def test_the_demo_summary_covers_every_scripted_behaviour(tmp_path: Path) -> None:
    summary = run_demo(tmp_path)

    assert "平安演示：4 个社区 22 位居民" in summary
    assert "拨出电话：29   接通：20   未能拨出：1" in summary
    assert "报平安：已完成 17   部分完成 1   未接通 4   待呼叫 0" in summary
    assert row(summary, "王秀英")[2:5] == ["已完成", "1", "36.5"]  # healthy
    assert row(summary, "陈玉珍")[2:4] == ["已完成", "2"]  # busy, then answers
    assert row(summary, "赵淑芬")[2] == "部分完成"  # hangs up after the temperature
    assert row(summary, "黄明")[6] == "代买生活物资、代购药品"
    assert row(summary, "周丽华")[-1] == "是"  # pressed 0 for staff
    assert row(summary, "杨志强")[2:5] == ["已完成", "1", "36.8"]  # 99.9 refused, then 36.8
    assert row(summary, "刘桂芝")[2:5] == ["已完成", "1", "36.5"]  # a couple, one call
    assert row(summary, "陈国华")[2:5] == ["已完成", "1", "36.8"]
    assert row(summary, "何志明")[2:5] == ["已完成", "3", "37.2"]  # answers the third call
    escalations = summary.split("预警列表")[1].split("发给值班工作人员的短信")[0]
    for name, reason in [
        ("李建国", "发热"),
        ("张桂兰", "高热"),
        ("张桂兰", "有症状"),
        ("刘德华", "联系不上"),
        ("郭伟", "号码无效"),
    ]:
        assert re.search(rf"{reason}\s+\S+\s+{name}", escalations), (name, reason)
    assert notes(tmp_path, "黄明") == "需要代买生活物资和代购药品"
    table = summary.split("\n\n")[1].splitlines()  # wide characters take two columns
    assert not re.search(r"complete|missed|groceries|high_fever|urgent", "\n".join(table))
    assert "high_fever" not in escalations and "urgent" not in escalations
    # What happened, in the dashboard's words: no "attempt 1 01:03: no-answer", no "symptoms = yes".
    assert re.search(r"刘德华\s+-\s+第 1 次 \d\d:\d\d：无人接听；", escalations)
    assert re.search(r"张桂兰\s+39.2\s+有无症状：是", escalations)
    assert re.search(r"郭伟\s+-\s+运营商无法呼叫这个号码：21211", escalations)
    assert not re.search(r"attempt|no-answer|symptoms|yes|carrier", escalations)
    assert table[0].startswith("社区") and {cell_starts(line) for line in table} == {
        cell_starts(table[1])
    }


def test_an_english_deployment_gets_the_summary_and_notes_in_english(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, PINGAN_LANGUAGE="en")

    assert "Pingan demo: 22 residents in 4 communities, one round" in summary
    assert "Calls placed: 29   answered: 20   not placed: 1" in summary
    assert "Check-ins: Complete 17   Partial 1   Missed 4   Pending 0" in summary
    assert row(summary, "黄明")[6] == "Groceries, Medicine"
    assert "Escalation list (11 open):" in summary
    escalations = summary.split("Escalation list")[1].split("\n\n")[0]
    assert re.search(r"刘德华\s+-\s+attempt 1 \d\d:\d\d: No answer; ", escalations)
    assert re.search(r"张桂兰\s+39.2\s+Symptoms: Yes", escalations)
    assert not re.search(r"[\u4e00-\u9fff]{2}：", escalations)  # no Chinese sentence
    assert notes(tmp_path, "黄明") == "asks for groceries and medicine"


def test_the_demo_on_alibaba_cloud_reads_as_the_twilio_one_and_shows_a_call(
    tmp_path: Path,
) -> None:
    summary = run_demo(tmp_path, "--carrier", "aliyun", "--transcript")

    assert "平安演示：4 个社区 22 位居民" in summary and "运营商：阿里云语音服务（模拟）" in summary
    assert "拨出电话：29   接通：20   未能拨出：1" in summary  # as on Twilio
    # Twilio's 17 and 1: the two who press 0 leave the flow at the transfer on VMS (below)
    assert "报平安：已完成 15   部分完成 3   未接通 4   待呼叫 0" in summary
    assert row(summary, "王秀英")[2:5] == ["已完成", "1", "36.5"]
    assert row(summary, "陈玉珍")[2:4] == ["已完成", "2"]  # busy, then answers
    assert row(summary, "杨志强")[2:5] == ["已完成", "1", "36.8"]  # 99.9 refused, then 36.8
    assert row(summary, "何志明")[2:5] == ["已完成", "3", "37.2"]  # answers the third call
    # Pressing 0 is a blind transfer on VMS: the callback request stays (docs/carriers.md)
    assert row(summary, "徐凤英")[-1] == "是" and row(summary, "周丽华")[-1] == "是"
    escalations = summary.split("预警列表")[1].split("发给值班工作人员的短信")[0]
    assert re.search(r"号码无效\s+\S+\s+郭伟", escalations)
    assert re.search(r"联系不上\s+\S+\s+刘德华", escalations)  # a landline, called like any
    # Each staff text's delivery report came back from the SMS simulator (SmsReport)
    texts = summary.split("发给值班工作人员的短信")[1].split("服务订单")[0]
    assert re.search(r"赵红梅\s+139 0371 0011\s+已送达\s+【平安】", texts) and "已发送" not in texts
    call = summary.split("王秀英 的通话（阿里云语音服务：→ 回调，← 回复）：")[1]
    assert "→ dtmf 3  ← break" in call and "您输入的是三十六点五度" in call
    assert "← hangup 「谢谢您。祝您平安健康，再见！」" in call
    assert '⇢ receipt {"status_code": "200000"' in call
    assert not re.search(r"complete|missed|high_fever|urgent", summary.split("\n\n")[1])


def test_the_demo_says_how_the_cli_sees_its_data_and_no_command_makes_an_empty_one(
    tmp_path: Path,
) -> None:
    env = demo_environment(tmp_path)
    listed = subprocess.run(
        [PINGAN, "residents", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode != 0 and "run `pingan init`" in listed.stderr
    assert not (tmp_path / "instance" / "pingan.db").exists()

    summary = run_demo(tmp_path)
    url = re.search(r"export PINGAN_DATABASE_URL=(\S+)", summary).group(1)
    listed = subprocess.run(
        [PINGAN, "residents", "list", "--json"],
        env={**env, "PINGAN_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 22
