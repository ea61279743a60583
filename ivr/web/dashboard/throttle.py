"""Login rate limiting, counted in the database so that every web process shares the counts.

A login reserves its password check before making it: the counters of its phone-and-address
pair, its address and its account are locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises the same way), checked and incremented in one short transaction
that is committed before the slow password check. Counting after the check let simultaneous
guesses all pass the count first (40 at once were 15 to 20 checks instead of 5).

- pair: 5 failures for one phone from one address lock that pair until 15 minutes after the
  first of them;
- address: 50 failures from one address (trying many numbers) lock the address likewise;
- account: the first 10 failures of one phone within a day, from any addresses, cost nothing;
  after them every try waits 30 s after the last one, doubling with each failure up to
  15 minutes. A delay rather than a lock: one address alone (5 tries per 15 minutes) never
  starts it, and the owner gets in as soon as it has passed.

A successful login gives its reservation back to the address and clears its pair and account.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import LoginCounter

WINDOW = dt.timedelta(minutes=15)
PER_PHONE = 5
PER_ADDRESS = 50
ACCOUNT_WINDOW = dt.timedelta(days=1)
ACCOUNT_FREE = 10
ACCOUNT_DELAY = dt.timedelta(seconds=30)
ACCOUNT_MAX_DELAY = dt.timedelta(minutes=15)
PRUNE_BATCH = 200


def account_delay(failures: int) -> dt.timedelta:
    """How long an account waits after its ``failures``-th failure (from ``ACCOUNT_FREE`` on)."""
    doublings = min(max(failures - ACCOUNT_FREE, 0), 16)  # 2**16 × 30 s is far past the cap
    return min(ACCOUNT_DELAY * (1 << doublings), ACCOUNT_MAX_DELAY)


def _keys(phone: str, ip: str) -> list[tuple[str, str, str]]:
    """The counters of one try, in primary-key order (every process locks them in that order)."""
    phone, ip = phone[:32], ip[:64]
    return sorted([("account", phone, ""), ("address", "", ip), ("pair", phone, ip)])


def reserve(session: Session, phone: str, ip: str, now: dt.datetime) -> dt.timedelta | None:
    """Count this try as a failure before its password is checked; how long it must wait
    instead, or None when it may be checked now. Commit before checking the password."""
    counters = _locked(session, _keys(phone, ip), now)
    waits = [wait for counter in counters if (wait := _wait(counter, now)) is not None]
    if waits:
        return max(waits)
    for counter in counters:
        counter.failures += 1
        counter.last_at = now
    return None


def _locked(
    session: Session, keys: list[tuple[str, str, str]], now: dt.datetime
) -> list[LoginCounter]:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"kind": k, "phone": p, "ip": i, "failures": 0, "window_start": now, "last_at": now}
        for k, p, i in keys
    ]
    session.execute(insert(LoginCounter).values(rows).on_conflict_do_nothing())
    key = tuple_(LoginCounter.kind, LoginCounter.phone, LoginCounter.ip)
    order = (LoginCounter.kind, LoginCounter.phone, LoginCounter.ip)
    query = select(LoginCounter).where(key.in_(keys)).order_by(*order).with_for_update()
    counters = list(session.scalars(query.execution_options(populate_existing=True)))
    for counter in counters:
        if counter.window_start + _window(counter) <= now:
            counter.failures, counter.window_start = 0, now
    return counters


def _window(counter: LoginCounter) -> dt.timedelta:
    return ACCOUNT_WINDOW if counter.kind == "account" else WINDOW


def _wait(counter: LoginCounter, now: dt.datetime) -> dt.timedelta | None:
    if counter.kind == "account":
        if counter.failures < ACCOUNT_FREE:
            return None
        free_at = counter.last_at + account_delay(counter.failures)
        return free_at - now if free_at > now else None
    limit = PER_PHONE if counter.kind == "pair" else PER_ADDRESS
    return counter.window_start + WINDOW - now if counter.failures >= limit else None


def succeeded(session: Session, phone: str, ip: str) -> None:
    account, _address, pair = _keys(phone, ip)
    key = tuple_(LoginCounter.kind, LoginCounter.phone, LoginCounter.ip)
    session.execute(delete(LoginCounter).where(key.in_([account, pair])))
    session.execute(
        update(LoginCounter)
        .where(
            LoginCounter.kind == "address",
            LoginCounter.phone == "",
            LoginCounter.ip == ip[:64],
            LoginCounter.failures > 0,
        )
        .values(failures=LoginCounter.failures - 1)
    )


def prune(session: Session, now: dt.datetime) -> None:
    """Forget counters idle for longer than every window. Rows another login holds are
    skipped, so pruning never waits for a lock (nor deadlocks with a login)."""
    key = tuple_(LoginCounter.kind, LoginCounter.phone, LoginCounter.ip)
    idle = (
        select(LoginCounter.kind, LoginCounter.phone, LoginCounter.ip)
        .where(LoginCounter.last_at < now - ACCOUNT_WINDOW)
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(LoginCounter).where(key.in_(idle)))


def count(session: Session) -> int:
    """Failures still counted, over every counter."""
    return session.scalar(select(func.coalesce(func.sum(LoginCounter.failures), 0))) or 0
