"""`pingan demo`, as the README's run command runs it: a fresh SQLite database in the instance
folder, one round through the simulated carrier, and a summary that covers every scripted
resident behaviour."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.processes import PINGAN


def demo_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "TWILIO_"))}
    env["PINGAN_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


def run_demo(tmp_path: Path) -> str:
    env = demo_environment(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = subprocess.run(
        [PINGAN, "demo"], env=env, cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "instance" / "pingan-demo.db").exists()
    assert list(elsewhere.iterdir()) == []  # nothing written where it was started
    return done.stdout


def row(summary: str, name: str) -> list[str]:
    line = next(line for line in summary.splitlines() if f" {name} " in line)
    return re.split(r"\s{2,}", line.strip())


def test_the_demo_summary_covers_every_scripted_behaviour(tmp_path: Path) -> None:
    summary = run_demo(tmp_path)

    assert "20 residents in 4 communities" in summary
    assert "Calls placed: 28   answered: 19   not placed: 1" in summary
    assert "Check-ins: complete 15   partial 1   missed 4   pending 0" in summary
    assert row(summary, "王秀英")[2:5] == ["complete", "1", "36.5"]  # healthy
    assert row(summary, "陈玉珍")[2:4] == ["complete", "2"]  # busy, then answers
    assert row(summary, "赵淑芬")[2] == "partial"  # hangs up after the temperature
    assert row(summary, "黄明")[6] == "groceries,medicine"
    assert row(summary, "周丽华")[-1] == "yes"  # pressed 0 for staff
    assert row(summary, "杨志强")[2:5] == ["complete", "1", "36.8"]  # 99.9 refused, then 36.8
    assert row(summary, "何志明")[2:5] == ["complete", "3", "37.2"]  # answers the third call
    escalations = summary.split("Escalation list")[1].split("SMS sent")[0]
    for name, reason in [
        ("李建国", "fever"),
        ("张桂兰", "high_fever"),
        ("张桂兰", "symptoms"),
        ("刘德华", "unreachable"),
        ("郭伟", "bad_phone"),
    ]:
        assert re.search(rf"{reason}\s+\S+\s+{name}", escalations), (name, reason)


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
    assert len(json.loads(listed.stdout)) == 20
