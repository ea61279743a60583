"""Worker heartbeats in the database, so the sweeper can tell a stopped worker from a busy one."""

from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import SystemState

PREFIX = "worker:"
ALIVE_FOR_S = 45


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def beat(session: Session, worker: str, now: dt.datetime, note: str = "running") -> None:
    key = PREFIX + worker
    row = session.get(SystemState, key)
    if row is None:
        session.add(SystemState(key=key, value=note, at=now))
    else:
        row.value, row.at = note, now


def alive_workers(session: Session, now: dt.datetime) -> set[str]:
    cutoff = now - dt.timedelta(seconds=ALIVE_FOR_S)
    rows = session.execute(
        select(SystemState.key).where(SystemState.key.startswith(PREFIX), SystemState.at >= cutoff)
    )
    return {key[len(PREFIX) :] for (key,) in rows}


def stop(session: Session, worker: str) -> None:
    row = session.get(SystemState, PREFIX + worker)
    if row is not None:
        session.delete(row)
