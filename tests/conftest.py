"""Shared fixtures: every database test runs on real SQLite and real PostgreSQL.

``--db sqlite|postgresql|both`` (default both) picks the databases. PostgreSQL comes from
``PINGAN_TEST_POSTGRES_URL`` (default: the local server, trust auth); each xdist worker gets its
own database, migrated once and truncated between tests. SQLite tests each get a copy of a
database migrated once per session.
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
from ivr.clock import FixedClock
from ivr.db import engine as engine_of
from ivr.jobs import Jobs
from ivr.server import webhooks_reachable
from ivr.simulator import SimulatedCarrier
from storage import Base, make_engine
from storage.migrate import upgrade

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

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
def carrier() -> Iterator[SimulatedCarrier]:
    simulated = SimulatedCarrier(auth_token=AUTH_TOKEN)
    yield simulated
    simulated.close()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tests override this fixture to change settings for a module."""
    return {}


@pytest.fixture
def app(
    database_url: str,
    tmp_path: Path,
    clock: FixedClock,
    carrier: SimulatedCarrier,
    settings_overrides: dict[str, Any],
) -> Iterator[Flask]:
    overrides = {
        "database_url": database_url,
        "instance_path": str(tmp_path / "instance"),
        "twilio_auth_token": AUTH_TOKEN,
        "carrier": "simulator",
        "public_url": None,
        "secret_key": "test-secret",
        **settings_overrides,
    }
    application = create_app(overrides, clock=clock, carrier=carrier, environ={})
    yield application
    engine_of(application).dispose()


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app on a loopback port, as the simulator (and Twilio) reach it."""
    with webhooks_reachable(app) as url:
        yield url


@pytest.fixture
def jobs(app: Flask, server: str) -> Jobs:
    return Jobs(app, worker="test-worker")
