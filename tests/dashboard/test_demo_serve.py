"""``pingan demo --serve``: the demo round, then the dashboard on its data with demo logins."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

PINGAN = str(Path(sys.executable).with_name("pingan"))


def demo_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PINGAN_LANGUAGE"}
    return {**env, "PINGAN_INSTANCE_PATH": str(tmp_path / "instance")}


def start_demo_serving(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PINGAN, "demo", "--serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_demo_serve_prints_the_url_and_logins_and_serves_the_dashboard(tmp_path) -> None:
    env = demo_environment(tmp_path)
    process = start_demo_serving(env)
    try:
        output = _read_until(process, "演示账号", timeout=120)
        url = re.search(r"控制台：(http://127\.0\.0\.1:\d+)/", output).group(1)
        output += _read_until(process, "139 0371 0100", timeout=10)  # the administrator
        assert "pingan-demo" in output
        assert re.search(r"社区工作人员\s+139 0371 0011\s+赵红梅\s+中原社区", output)
        assert re.search(r"管理员\s+139 0371 0100\s+管理员\s+全部社区", output)
        session = requests.Session()
        page = session.get(f"{url}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"phone": "13903710011", "password": "pingan-demo", "csrf_token": token}
        escalations = session.post(f"{url}/login", data=form, timeout=10)
        assert escalations.status_code == 200 and "张桂兰" in escalations.text  # 39.2 °C
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_an_english_deployment_gets_the_logins_in_english(tmp_path) -> None:
    process = start_demo_serving({**demo_environment(tmp_path), "PINGAN_LANGUAGE": "en"})
    try:
        output = _read_until(process, "139 0371 0100", timeout=120)
        assert re.search(r"Dashboard: http://127\.0\.0\.1:\d+/", output)
        assert "Demo logins (phone number + password pingan-demo):" in output
        assert re.search(r"Supervisor\s+139 0371 0099\s+周主任\s+All communities", output)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


@pytest.mark.slow
def test_a_second_demo_never_deletes_the_database_the_first_one_is_serving(tmp_path) -> None:
    env = demo_environment(tmp_path)
    first = start_demo_serving(env)
    try:
        output = _read_until(first, "演示账号", timeout=120)
        port = re.search(r"控制台：http://127\.0\.0\.1:(\d+)/", output).group(1)
        database = tmp_path / "instance" / "pingan-demo.db"
        before = database.stat().st_ino
        same_port = _run(env, "demo", "--serve", "--port", port)
        assert same_port.returncode != 0 and f"cannot serve on 127.0.0.1:{port}" in same_port.stderr
        other_port = _run(env, "demo", "--serve", "--port", "0")
        assert other_port.returncode != 0 and "another demo is running" in other_port.stderr
        assert database.stat().st_ino == before
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert login.status_code == 200
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=20)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PINGAN, *args], env=env, capture_output=True, text=True, timeout=120)


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not printed:\n{''.join(seen)[-3000:]}")
