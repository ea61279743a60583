"""Shared fixtures: every database test runs on real SQLite and real PostgreSQL.

``--db sqlite|postgresql|both`` (default both) picks the databases. PostgreSQL comes from
``PINGAN_TEST_POSTGRES_URL`` (default: the local server, trust auth); each xdist worker gets its
own database, migrated once and truncated between tests. SQLite tests each get a copy of a
database migrated once per session.

The app calls through the Twilio simulator unless a test is marked ``both_carriers``: then it
runs twice, on the Twilio simulator and on the Alibaba Cloud simulator (``carrier_kind``
``twilio-sim`` / ``aliyun-sim``), except the stories marked ``twilio_only("why")``: what VMS
cannot do (docs/carriers.md, "Stories that run on Twilio only"). Either way ``carrier`` is
the simulator the test scripts residents on (``script``, ``calls_to``, ``wait_idle``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ivr import create_app
from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.aliyun.sms_simulator import SAMPLE_CODES, AliyunSmsSimulator
from ivr.carriers.simulator import SimulatedCarrier
from ivr.clock import FixedClock
from ivr.db import engine as engine_of
from ivr.web.server import webhooks_reachable
from ivr.worker.jobs import Jobs
from storage import Base, make_engine
from storage.migrate import upgrade

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TWILIO_SIM, ALIYUN_SIM = "twilio-sim", "aliyun-sim"
ALIYUN_KEY_ID, ALIYUN_KEY_SECRET = "LTAI5tPinganStoryKey", "pingan-story-access-key-secret"
ALIYUN_CALLBACK_SECRET = "vms-story-callback-secret-0123456789"
CALLER_ID = "+8657100000000"  # PINGAN_CALLER_ID's default: the number the account owns

for variable in ("TWILIO_EDGE", "TWILIO_REGION"):  # the SDK would rewrite the simulator's host
    os.environ.pop(variable, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="databases to run database tests on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        kinds = ["sqlite", "postgresql"] if choice == "both" else [choice]
        metafunc.parametrize("db_kind", kinds, scope="session")
    if metafunc.definition.get_closest_marker("both_carriers"):
        only = metafunc.definition.get_closest_marker("twilio_only")
        metafunc.parametrize("carrier_kind", [TWILIO_SIM] if only else [TWILIO_SIM, ALIYUN_SIM])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "pingan.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    admin_url = make_url(os.environ.get("PINGAN_TEST_POSTGRES_URL", DEFAULT_PG))
    # Unique per process: several test runs (developers, CI) may share one server.
    name = f"pingan_test_{worker_id}_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture
def database_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if db_kind == "sqlite":
        path = tmp_path / "pingan.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FixedClock:
    """09:00 in Shanghai on 2026-11-28: inside the default calling window, at a round time."""
    return FixedClock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def carrier_kind() -> str:
    return TWILIO_SIM


@pytest.fixture
def carrier(carrier_kind: str) -> Iterator[SimulatedCarrier | AliyunSimulator]:
    if carrier_kind == ALIYUN_SIM:
        platform = AliyunSimulator(ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, CALLER_ID)
        yield platform
        platform.close()
        return
    # The story suite's residents have +86 numbers: this Twilio account is one Twilio vetted
    # for China before 30 November 2023; the refusal Twilio gives today has its own stories.
    simulated = SimulatedCarrier(
        auth_token=AUTH_TOKEN, owned_numbers={CALLER_ID}, china_vetted=True
    )
    yield simulated
    simulated.close()


@pytest.fixture
def aliyun_texts() -> Iterator[AliyunSmsSimulator]:
    """Alibaba Cloud's SMS service, with Pingan's templates approved."""
    simulated = AliyunSmsSimulator(ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, "平安", SAMPLE_CODES)
    yield simulated
    simulated.close()


def carrier_settings(carrier: object, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings of an app whose SDK talks to the Alibaba Cloud simulator ``carrier``."""
    if not isinstance(carrier, AliyunSimulator):
        return {}
    texts: AliyunSmsSimulator = request.getfixturevalue("aliyun_texts")
    return {
        **texts.app_settings(),
        "carrier": "aliyun",
        "aliyun_access_key_id": ALIYUN_KEY_ID,
        "aliyun_access_key_secret": ALIYUN_KEY_SECRET,
        "aliyun_endpoint": carrier.url,
        "aliyun_callback_secret": ALIYUN_CALLBACK_SECRET,
    }


def app_carrier(carrier: object, clock: FixedClock) -> Any:
    """What the app dials through: the simulator itself, or None for Alibaba Cloud, which the
    app reaches through the real SDKs (``carrier_settings``)."""
    return None if isinstance(carrier, AliyunSimulator) else carrier


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tests override this fixture to change settings for a module."""
    return {}


@pytest.fixture
def app(
    database_url: str,
    tmp_path: Path,
    clock: FixedClock,
    carrier: SimulatedCarrier | AliyunSimulator,
    settings_overrides: dict[str, Any],
    request: pytest.FixtureRequest,
) -> Iterator[Flask]:
    overrides = {
        "database_url": database_url,
        "instance_path": str(tmp_path / "instance"),
        "twilio_auth_token": AUTH_TOKEN,
        "carrier": "simulator",
        "public_url": None,
        "secret_key": "test-secret",
        **carrier_settings(carrier, request),
        **settings_overrides,
    }
    application = create_app(
        overrides, clock=clock, carrier=app_carrier(carrier, clock), environ={}
    )
    yield application
    engine_of(application).dispose()


@pytest.fixture
def server(app: Flask, carrier: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """The app on a loopback port, as the simulator (and Twilio) reach it."""
    with webhooks_reachable(app) as url:
        if not isinstance(carrier, AliyunSimulator):
            yield url
            return
        # The URLs entered once in the VMS console, and the SMS console's SmsReport push.
        carrier.callback_url = f"{url}/aliyun/{ALIYUN_CALLBACK_SECRET}/callback"
        carrier.receipt_url = f"{url}/aliyun/{ALIYUN_CALLBACK_SECRET}/receipt"
        texts: AliyunSmsSimulator = request.getfixturevalue("aliyun_texts")
        texts.report_url = f"{url}/aliyun/{ALIYUN_CALLBACK_SECRET}/sms-report"
        yield url
        texts.wait_idle()  # no report may still be on its way while the app shuts down


@pytest.fixture
def jobs(app: Flask, server: str) -> Jobs:
    return Jobs(app, worker="test-worker")
