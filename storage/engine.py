"""Engines and sessions, with the SQLite settings a multi-threaded app needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from storage.day_summary import keep_day_summaries

CONNECT_TIMEOUT_S = 5
POOL_SIZE = 10
MAX_OVERFLOW = 5


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; on SQLite every transaction takes the write lock up front.

    SQLite lets only one writer in at a time, and a read transaction that later writes fails with
    "database is locked" without waiting if another writer got in first. ``BEGIN IMMEDIATE``
    makes every transaction wait its turn instead (up to ``busy_timeout``), which is what
    concurrent webhooks and the dialer need.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A gunicorn worker runs 8 request threads and a dial run up to 64 REST threads that each
    # record their call: a pool smaller than the threads in use opens and closes an overflow
    # connection (a new PostgreSQL backend process) for nearly every request.
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    if url.startswith("postgresql") and "connect_timeout" not in url:
        # Unreachable must fail fast: a webhook has 15 s to answer the carrier with an apology.
        kwargs.setdefault("connect_args", {"connect_timeout": CONNECT_TIMEOUT_S})
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    keep_day_summaries(factory)
    return factory
