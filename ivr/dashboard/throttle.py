"""Login rate limiting: failed logins are rows, so every web process counts the same ones.

Five failures for one phone number from one address within 15 minutes lock that pair out until
the oldest failure is 15 minutes old; 50 failures from one address (trying many numbers) lock
the address. A successful login clears the pair's failures.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import LoginAttempt

WINDOW = dt.timedelta(minutes=15)
PER_PHONE = 5
PER_ADDRESS = 50


def blocked_for(session: Session, phone: str, ip: str, now: dt.datetime) -> dt.timedelta | None:
    """How long until ``phone`` may try again from ``ip``, or None when it may now."""
    checks = (
        (PER_PHONE, (LoginAttempt.phone == phone[:32], LoginAttempt.ip == ip[:64])),
        (PER_ADDRESS, (LoginAttempt.ip == ip[:64],)),
    )
    for limit, where in checks:
        newest = list(
            session.scalars(
                select(LoginAttempt.at)
                .where(LoginAttempt.at > now - WINDOW, *where)
                .order_by(LoginAttempt.at.desc())
                .limit(limit)
            )
        )
        if len(newest) >= limit:  # free again once the oldest of these leaves the window
            return newest[-1] + WINDOW - now
    return None


def failed(session: Session, phone: str, ip: str, now: dt.datetime) -> None:
    session.add(LoginAttempt(at=now, phone=phone[:32], ip=ip[:64]))
    # Rows older than the window count for nothing any more; this address's are pruned here so
    # the table stays small without a separate job.
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.ip == ip[:64], LoginAttempt.at < now - WINDOW)
    )


def succeeded(session: Session, phone: str, ip: str) -> None:
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.phone == phone[:32], LoginAttempt.ip == ip[:64])
    )


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttempt)) or 0
