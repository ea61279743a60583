"""The hot path's transaction, stated once: what one call webhook does to the database.

A webhook answers a live call (Twilio's and Alibaba Cloud's alike): while it runs, an elderly
resident hears silence. Each one is exactly one transaction, in this order:

1. ``BEGIN``, then the call attempt is read ``FOR UPDATE`` with its resident, community and
   check-in in one query (``ATTEMPT_BY_CODE``): concurrent callbacks for one call queue here,
   and nothing the call logic needs is lazy-loaded later.
2. The call logic (``ivr.domain.calls``) changes the attempt, its check-in, answers and escalations
   as ORM objects; the call's timeline entries are plain inserts (``add_event``).
3. The reply is rendered inside the transaction (a transfer's reply reads who is on duty).
4. ``COMMIT`` before the reply leaves the app: a caller never hears "thank you" for an answer
   that is not yet stored. If anything raises, everything rolls back and the caller hears the
   apology (``ivr.web.voice.errors``); what earlier webhooks stored stays.

Why these shapes (``docs/benchmarks.md``, "Where a webhook's time goes"): the ORM's unit of
work costs several times a plain insert per row, and building the locking query costs more
than running its cached compiled form, so both are built once here. Sessions do not expire
objects on commit (``storage.engine``), psycopg prepares statements a connection runs
repeatedly on its own, and the pool holds one connection per request thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, joinedload

from ivr.db import session_scope
from storage import CallAttempt, CallEvent, Resident

ATTEMPT_BY_CODE = (
    select(CallAttempt)
    .where(CallAttempt.code == bindparam("code"))
    .options(
        joinedload(CallAttempt.resident).joinedload(Resident.community),
        joinedload(CallAttempt.checkin),
    )
    .with_for_update(of=CallAttempt)
)
_INSERT_EVENT = insert(CallEvent.metadata.tables[CallEvent.__tablename__])


def lock_attempt(session: Session, code: str) -> CallAttempt | None:
    """The attempt behind a webhook URL, locked until the transaction ends."""
    return session.scalars(ATTEMPT_BY_CODE, {"code": code}).first()


@contextmanager
def call_transaction(code: str) -> Iterator[tuple[Session, CallAttempt | None]]:
    """One webhook's transaction (steps 1–4 above); ``None`` for a code that names no call."""
    with session_scope() as session:
        yield session, lock_attempt(session, code)


def add_event(
    session: Session,
    attempt: CallAttempt,
    at: dt.datetime,
    kind: str,
    name: str,
    detail: str | None,
) -> None:
    """One timeline entry, inserted now. What the session holds is flushed first, so entries
    keep the order in which the call logic added them (the timeline is ordered by id), and a
    call created in this transaction has its id."""
    session.flush()
    session.connection().execute(
        _INSERT_EVENT,
        {"attempt_id": attempt.id, "at": at, "kind": kind, "name": name, "detail": detail},
    )
