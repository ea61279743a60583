"""Running Pingan the way it runs in production, for benchmarks: separate processes for the
simulated carrier's REST API and for ``pingan serve`` (gunicorn), on loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

PINGAN = str(Path(sys.executable).with_name("pingan"))
ACCOUNT_SID = "AC" + "b" * 32
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def production_like(
    database_url: str,
    web_workers: int = 2,
    behaviour: str = "busy",
    max_calls: int = 64,
    scripts_file: str | None = None,
) -> Iterator[dict[str, str]]:
    """Start the simulator REST API and gunicorn; yield the environment that reaches them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "TWILIO_"))}
    sim, web = free_port(), free_port()
    env.update(
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PINGAN_CARRIER": "twilio",
            "PINGAN_DATABASE_URL": database_url,
            "PINGAN_LOG_LEVEL": "ERROR",
            "PINGAN_TWILIO_API_BASE": f"http://127.0.0.1:{sim}",
            "PINGAN_PUBLIC_URL": f"http://127.0.0.1:{web}",
            "PINGAN_INSTANCE_PATH": tempfile.mkdtemp(prefix="pingan-bench-instance-"),
        }
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    children = [
        subprocess.Popen(  # type: ignore[call-overload]
            [
                PINGAN,
                "simulator",
                "serve",
                "--port",
                str(sim),
                "--china-vetted",  # the benchmark's residents are +86 numbers
                "--default",
                behaviour,
                "--max-calls",
                str(max_calls),
                *(["--scripts-file", scripts_file] if scripts_file else []),
            ],
            **quiet,
        ),
        subprocess.Popen(
            [PINGAN, "serve", "--port", str(web), "--workers", str(web_workers)], **quiet
        ),  # type: ignore[call-overload]
    ]
    try:
        _wait(env["PINGAN_TWILIO_API_BASE"])
        _wait(env["PINGAN_PUBLIC_URL"] + "/healthz")
        yield env
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=15)


def simulator_stats(env: dict[str, str]) -> dict[str, object]:
    url = f"{env['PINGAN_TWILIO_API_BASE']}/2010-04-01/Accounts/{ACCOUNT_SID}/SimulatorStats.json"
    response = requests.get(url, auth=(ACCOUNT_SID, TOKEN), timeout=10)
    response.raise_for_status()
    stats: dict[str, object] = response.json()
    return stats
