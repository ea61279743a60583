"""Worker heartbeats in the database, so the sweeper can tell a stopped worker from a busy one
and ``pingan health`` can tell whether the scheduler is doing its jobs.

Each heartbeat row (``worker:<host>-<pid>``) also carries when each of that worker's jobs last
ran to completion, so a worker that is alive but stuck (every dial failing, a job hanging) shows
up as stale rather than as healthy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import SystemState

PREFIX = "worker:"
ALIVE_FOR_S = 45


@dataclass(frozen=True)
class WorkerState:
    worker: str
    beat_at: dt.datetime
    jobs: dict[str, dt.datetime] = field(default_factory=dict)  # job → last completed run
    started_at: dt.datetime | None = None


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def gone(worker: str) -> bool:
    """Is ``worker`` a process of this host that no longer exists (killed, crashed)?

    Lets a restarted worker take back its predecessor's claims without waiting for the
    heartbeat to go stale. Only ever says yes for certain: another host, or a process id in
    use again, count as alive.
    """
    host, _, pid = worker.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False


def beat(
    session: Session,
    worker: str,
    now: dt.datetime,
    jobs: Mapping[str, dt.datetime] | None = None,
    started_at: dt.datetime | None = None,
) -> None:
    key = PREFIX + worker
    value = json.dumps(
        {
            "started": (started_at or now).isoformat(),
            "jobs": {name: at.isoformat() for name, at in (jobs or {}).items()},
        }
    )
    row = session.get(SystemState, key)
    if row is None:
        session.add(SystemState(key=key, value=value, at=now))
    else:
        row.value, row.at = value, now


def last_beats(session: Session) -> dict[str, dt.datetime]:
    """Every worker with a heartbeat row, and when it last beat."""
    rows = session.execute(
        select(SystemState.key, SystemState.at).where(SystemState.key.startswith(PREFIX))
    )
    return {key[len(PREFIX) :]: at for key, at in rows if at is not None}


def worker_states(session: Session, now: dt.datetime) -> list[WorkerState]:
    """Every live worker with its jobs' last completed runs."""
    cutoff = now - dt.timedelta(seconds=ALIVE_FOR_S)
    rows = session.scalars(
        select(SystemState)
        .where(SystemState.key.startswith(PREFIX), SystemState.at >= cutoff)
        .order_by(SystemState.key)
    )
    return [_state(row.key[len(PREFIX) :], row.at, row.value) for row in rows if row.at]


def _state(worker: str, beat_at: dt.datetime, value: str | None) -> WorkerState:
    try:
        found = json.loads(value or "{}")
        jobs = {str(name): dt.datetime.fromisoformat(at) for name, at in found["jobs"].items()}
        return WorkerState(worker, beat_at, jobs, dt.datetime.fromisoformat(found["started"]))
    except (ValueError, KeyError, AttributeError, TypeError):  # a row from an older version
        return WorkerState(worker, beat_at)


def stop(session: Session, worker: str) -> None:
    row = session.get(SystemState, PREFIX + worker)
    if row is not None:
        session.delete(row)
