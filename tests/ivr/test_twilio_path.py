"""With PINGAN_CARRIER=twilio, the real SDK path works against any Twilio-compatible endpoint.

Everything runs as separate processes, as an operator would run them: the simulated carrier's
REST server, ``pingan serve`` (gunicorn), and ``pingan call`` / ``pingan checkins --json``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import PINGAN, free_port, wait_for

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TOKEN = "process-test-token"


@pytest.fixture
def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "TWILIO_"))}
    env.update(
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PINGAN_CARRIER": "twilio",
            "PINGAN_CALL_WINDOW": "00:00-24:00",  # the test must pass at any hour
            "PINGAN_DATABASE_URL": database_url,
            "PINGAN_INSTANCE_PATH": str(tmp_path / "instance"),
            "PINGAN_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",
            "PINGAN_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PINGAN, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def processes(environment: dict[str, str], tmp_path: Path) -> Iterator[None]:
    sim_port = environment["PINGAN_TWILIO_API_BASE"].rsplit(":", 1)[1]
    web_port = environment["PINGAN_PUBLIC_URL"].rsplit(":", 1)[1]
    started = [
        subprocess.Popen(
            [
                PINGAN,
                "simulator",
                "serve",
                "--port",
                sim_port,
                "--china-vetted",  # as the README's try: the resident is a +86 number
                "--script",
                "+8613803710101=answer 1 372# 1 2 1 9",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [PINGAN, "serve", "--port", web_port, "--workers", "2"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_for(environment["PINGAN_TWILIO_API_BASE"])
        wait_for(environment["PINGAN_PUBLIC_URL"] + "/healthz")
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=10)


def test_a_check_in_completes_through_a_twilio_compatible_endpoint(
    environment: dict[str, str], processes: None, tmp_path: Path
) -> None:
    csv_file = tmp_path / "residents.csv"
    csv_file.write_text("name,phone,community\n王秀英,13803710101,中原社区\n", encoding="utf-8")
    assert run(environment, "residents", "import", str(csv_file)).returncode == 0
    called = run(environment, "call", "138 0371 0101")
    assert called.returncode == 0, called.stderr
    assert " INFO " not in called.stderr  # the log never interleaves with the command's lines
    assert "completed" in called.stdout
    checkins = json.loads(run(environment, "checkins", "--json").stdout)
    expected = {
        "phone": "+8613803710101",
        "status": "complete",
        "temperature_c": 37.2,
        "symptoms": False,
        "needs": ["groceries"],
        "callback_requested": False,
    }
    assert [{key: row[key] for key in expected} for row in checkins] == [expected]
    calls = json.loads(run(environment, "calls", "--json").stdout)
    assert calls[0]["call_sid"].startswith("CA") and calls[0]["status"] == "completed"
    # The simulated endpoint took the +86 call; real Twilio would not: health says so.
    report = json.loads(run(environment, "health", "--json").stdout)
    assert report["reach"].startswith("1 residents have mainland China (+86) numbers")
    assert report["status"] == "warning"


def test_a_missing_setting_stops_start_up_with_one_sentence(
    environment: dict[str, str],
) -> None:
    del environment["PINGAN_PUBLIC_URL"]
    result = run(environment, "checkins")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Error: PINGAN_CARRIER=twilio needs PINGAN_PUBLIC_URL to be set."
    )
    assert "Traceback" not in result.stderr
