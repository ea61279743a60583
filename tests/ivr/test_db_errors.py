"""Telling a database outage (ride it out, apologise) apart from a bug (fail loudly)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from ivr.db_errors import database_unavailable, retry_while_unavailable


def sqlite_error(sql: str) -> OperationalError:
    engine = create_engine("sqlite://")
    with pytest.raises(OperationalError) as caught, engine.connect() as connection:
        connection.execute(text(sql))
    return caught.value


def test_a_missing_table_is_a_mistake_not_an_outage() -> None:
    assert not database_unavailable(sqlite_error("SELECT * FROM nowhere"))


def test_a_locked_sqlite_database_is_an_outage() -> None:
    locked = OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert database_unavailable(locked)


def test_an_unreachable_postgresql_is_an_outage() -> None:
    engine = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/test", connect_args={"connect_timeout": 1}
    )
    with pytest.raises(OperationalError) as caught:
        engine.connect()
    assert database_unavailable(caught.value)


def test_a_programming_error_is_not_retried() -> None:
    calls = []

    def write() -> None:
        calls.append(1)
        raise ProgrammingError("INSERT", {}, Exception("syntax error"))

    with pytest.raises(ProgrammingError):
        retry_while_unavailable(write, "a test write")
    assert calls == [1]
