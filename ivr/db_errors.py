"""Telling "the database is out of reach" apart from a bug, and riding out short outages.

A restart, a failover or a network blip surfaces as ``OperationalError`` (or an invalidated
connection). Webhooks answer the caller with an apology (``ivr.web.voice.errors``), the worker's
jobs
skip a tick (``ivr.worker.scheduler``), and a write that records something the carrier already did
is
retried until the database is back (``ivr.worker.dialer``).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_FOR_S = 600.0  # longer than a failover; after that the error surfaces
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 5.0


# SQLite reports mistakes ("no such table") as OperationalError too; only these are outages.
SQLITE_OUTAGES = ("database is locked", "unable to open", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable (rather than a mistake in a query)?"""
    if isinstance(exc, OperationalError) and isinstance(exc.orig, sqlite3.Error):
        return any(words in str(exc.orig).lower() for words in SQLITE_OUTAGES)
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def retry_while_unavailable(
    write: Callable[[], T], what: str, retry_for_s: float = RETRY_FOR_S
) -> T:
    """Run ``write`` (one whole transaction) until it succeeds or the database stays away.

    Only for writes that are safe to repeat: a failed commit may, rarely, have been applied.
    """
    deadline = time.monotonic() + retry_for_s
    delay = FIRST_DELAY_S
    while True:
        try:
            return write()
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning(
                "database unavailable while storing %s (%s); retrying in %.1f s",
                what,
                exc.__class__.__name__,
                delay,
            )
        time.sleep(delay)  # waiting for the database itself, in real time
        delay = min(delay * 2, MAX_DELAY_S)
