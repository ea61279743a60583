"""Running Pingan as an operator runs it, for the multi-process tests: a fresh PostgreSQL
database, the simulated carrier's REST server and ``pingan serve`` (gunicorn) in their own
processes, and as many ``pingan worker`` processes as a test wants. The carrier is Twilio, or
with ``environment(..., carrier=ALIYUN)`` Alibaba Cloud (VMS and SMS, ``pingan simulator serve
--carrier aliyun``), configured with the settings a real deployment sets. Each process logs to
a file in the test's folder, so a failure can be read afterwards (and the logs can be searched).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from ivr.carriers.aliyun.sms_simulator import SAMPLE_CODES
from storage import Community, Resident, make_engine
from storage.migrate import upgrade
from tests.conftest import DEFAULT_PG

PINGAN = str(Path(sys.executable).with_name("pingan"))
ACCOUNT_SID = "AC" + "5" * 32
TOKEN = "multi-process-token"
TWILIO, ALIYUN = "twilio", "aliyun"
KEY_ID, KEY_SECRET = "LTAI5tMultiProcessKey", "multi-process-access-key-secret"
CALLBACK_SECRET = "multi-process-callback-secret"
ALIYUN_CALLER_ID = "+8637165000000"  # the number bought in the VMS console
SIGN_NAME = "中原社区"
FIRST_PHONE = 13500000000
# A whole mobile number, as a log line must never show one (a CallSid's hex is not one).
FULL_NUMBER = re.compile(r"(?<!\w)\+?86\s?1\d{2}\s?\d{4}\s?\d{4}(?!\d)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def phone(n: int) -> str:
    return f"+86{FIRST_PHONE + n}"


@contextmanager
def fresh_postgres(revision: str = "head") -> Iterator[str]:
    """A new PostgreSQL database of its own (several processes share it), at ``revision``."""
    admin_url = make_url(os.environ.get("PINGAN_TEST_POSTGRES_URL", DEFAULT_PG))
    name = f"pingan_proc_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine, revision)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_residents(url: str, count: int, communities: int = 1) -> None:
    """``count`` residents (phones ``phone(0)``…) over ``communities``, in one bulk insert."""
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    with engine.begin() as connection:
        ids = [
            connection.execute(
                insert(Community).values(name=f"社区{n}", created_at=now).returning(Community.id)
            ).scalar_one()
            for n in range(communities)
        ]
        rows: list[dict[str, Any]] = [
            {
                "name": f"居民{n}",
                "phone": phone(n),
                "community_id": ids[n % communities],
                "language": "zh-CN",
                "isolation_days": 14,
                "lives_alone": False,
                "notify_family": False,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ]
        connection.execute(insert(Resident), rows)
    engine.dispose()


def noon_zone(now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A fixed-offset time zone where it is about noon now, and the local time there.

    The tests run at any hour; calling windows and round times are local, so the tests pick
    a zone where a whole-day window is hours away from closing.
    """
    now = now or dt.datetime.now(dt.UTC)
    offset = 12 - now.hour  # −11 … +12
    name = f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-8 is UTC+8
    return name, now + dt.timedelta(hours=offset)


def carrier_settings(carrier: str) -> dict[str, str]:
    """What an operator sets for ``carrier``, pointed at the local simulator."""
    if carrier == TWILIO:
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PINGAN_CARRIER": "twilio",
            "PINGAN_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",
        }
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
        "PINGAN_CARRIER": "aliyun",
        "PINGAN_CALLER_ID": ALIYUN_CALLER_ID,
        "PINGAN_ALIYUN_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "PINGAN_ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "PINGAN_ALIYUN_CALLBACK_SECRET": CALLBACK_SECRET,
        "PINGAN_ALIYUN_SMS_SIGN_NAME": SIGN_NAME,
        **{f"PINGAN_ALIYUN_SMS_TEMPLATE_{k.upper()}": code for k, code in SAMPLE_CODES.items()},
    }


def environment(
    database_url: str, folder: Path, carrier: str = TWILIO, **settings: str
) -> dict[str, str]:
    """The environment of every process: the carrier's path to its simulator, webhooks on
    gunicorn."""
    prefixes = ("PINGAN_", "TWILIO_", "ALIBABA_CLOUD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    zone, _ = noon_zone()
    env.update(
        {
            **carrier_settings(carrier),
            "PINGAN_DATABASE_URL": database_url,
            "PINGAN_INSTANCE_PATH": str(folder / "instance"),
            "PINGAN_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
            "PINGAN_TIMEZONE": zone,
            "PINGAN_CALL_WINDOW": "00:00-24:00",
            "PINGAN_ROUND_TIMES": "23:59",  # never due during a test (it is about noon)
            "PINGAN_LOG_LEVEL": "INFO",
            **settings,
        }
    )
    return env


class Processes:
    """The processes of one test; ``close()`` stops whatever is still running."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [PINGAN, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.started.append(process)
        return process

    def services(self, *simulator_args: str, web_workers: int = 2) -> None:
        """The simulator's REST API and gunicorn, running and answering."""
        web_port = self.env["PINGAN_PUBLIC_URL"].rsplit(":", 1)[1]
        if self.env["PINGAN_CARRIER"] == ALIYUN:
            apis = [self.env["PINGAN_ALIYUN_ENDPOINT"], self.env["PINGAN_ALIYUN_SMS_ENDPOINT"]]
            ports = ["--port", _port(apis[0]), "--sms-port", _port(apis[1])]
            self.start("simulator", "simulator", "serve", "--carrier", "aliyun", *ports,
                       *simulator_args)  # fmt: skip
        else:
            apis = [self.env["PINGAN_TWILIO_API_BASE"]]
            self.start("simulator", "simulator", "serve", "--port", _port(apis[0]),
                       "--china-vetted", *simulator_args)  # fmt: skip
        self.start("web", "serve", "--port", web_port, "--workers", str(web_workers))
        for api in apis:
            wait_for(api)
        wait_for(self.env["PINGAN_PUBLIC_URL"] + "/healthz")

    def worker(self, n: int) -> subprocess.Popen[bytes]:
        return self.start(f"worker-{n}", "worker")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PINGAN, *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def logs(self) -> str:
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.folder.glob("*.log"))
        )

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def processes(env: dict[str, str], folder: Path) -> Iterator[Processes]:
    running = Processes(env, folder)
    try:
        yield running
    finally:
        running.close()


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


def simulator_get(env: dict[str, str], resource: str, **params: Any) -> Any:
    url = f"{env['PINGAN_TWILIO_API_BASE']}/2010-04-01/Accounts/{ACCOUNT_SID}/{resource}"
    response = requests.get(url, params=params, auth=(ACCOUNT_SID, TOKEN), timeout=30)
    response.raise_for_status()
    return response.json()


def aliyun_get(env: dict[str, str], setting: str, resource: str) -> Any:
    """A listing of the Alibaba Cloud simulator's (``setting`` names its API's endpoint)."""
    url = f"{env[setting]}/simulator/{resource}"
    response = requests.get(url, auth=(KEY_ID, KEY_SECRET), timeout=30)
    response.raise_for_status()
    return response.json()


def simulator_calls(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every call the simulated carrier accepted (``sid``, ``to`` in E.164, …): the Twilio
    simulator's Calls list (all pages), or the Alibaba Cloud one's listing."""
    if env["PINGAN_CARRIER"] == ALIYUN:
        return list(aliyun_get(env, "PINGAN_ALIYUN_ENDPOINT", "calls.json")["calls"])
    calls: list[dict[str, Any]] = []
    page = 0
    while True:
        body = simulator_get(env, "Calls.json", PageSize=1000, Page=page)
        calls.extend(body["calls"])
        if not body["next_page_uri"]:
            return calls
        page += 1


def create_times(env: dict[str, str]) -> list[float]:
    """When the simulated carrier received each call request (its own monotonic clock)."""
    if env["PINGAN_CARRIER"] == ALIYUN:
        return [c["created"] for c in simulator_calls(env)]
    return list(simulator_get(env, "SimulatorStats.json")["create_times"])


def simulator_texts(env: dict[str, str]) -> dict[str, Any]:
    """The Alibaba Cloud SMS simulator's texts and the delivery reports it pushed."""
    return dict(aliyun_get(env, "PINGAN_ALIYUN_SMS_ENDPOINT", "messages.json"))
