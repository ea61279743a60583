"""The database handles of one app: an engine and a sessionmaker, kept in ``app.extensions``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import make_engine, make_sessionmaker


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["pingan.engine"] = engine
    app.extensions["pingan.sessions"] = make_sessionmaker(engine)


def engine(app: Flask | None = None) -> Engine:
    engine: Engine = (app or current_app).extensions["pingan.engine"]
    return engine


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = (app or current_app).extensions["pingan.sessions"]
    return maker


def missing_database(engine: Engine) -> Path | None:
    """The SQLite file this engine would create on first connection, if it does not exist."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path.resolve()


@contextmanager
def session_scope(app: Flask | None = None) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with sessions(app).begin() as session:
        yield session
