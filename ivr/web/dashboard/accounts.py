"""Passwords and API tokens of staff accounts (no Flask here: the CLI uses it too).

Passwords are hashed with scrypt (a memory-hard KDF, via Werkzeug). API tokens are long random
strings shown once; only their SHA-256 is stored, which is enough for a secret with 256 bits of
entropy and lets a request find its staff member with one indexed lookup.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.domain import audit
from ivr.domain.staff import end_sessions
from storage import Staff

MIN_PASSWORD = 8
MAX_PASSWORD = 128
TOKEN_PREFIX = "pgn_"


class AccountError(ValueError):
    """A password or token change that cannot be made; one sentence for a person."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    if password.strip() != password or not password.strip():
        raise AccountError("a password may not start or end with spaces")


def set_password(
    session: Session, staff: Staff, password: str, now: dt.datetime, actor: str
) -> None:
    check_new_password(password)
    staff.password_hash = generate_password_hash(password, method="scrypt")
    end_sessions(staff)
    audit.record(session, now, actor, "password_set", "staff", staff.id)


def password_matches(staff: Staff | None, password: str) -> bool:
    """Whether ``password`` is ``staff``'s. Costs the same for unknown staff, so that response
    times do not tell an attacker which phone numbers have accounts."""
    stored = staff.password_hash if staff is not None and staff.password_hash else None
    ok = check_password_hash(stored or _dummy_hash(), password[:MAX_PASSWORD])
    return ok and stored is not None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(session: Session, staff: Staff, now: dt.datetime, actor: str) -> str:
    """A fresh token for ``staff`` (replacing any earlier one); returned once, stored hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    staff.api_token_hash = token_hash(token)
    audit.record(session, now, actor, "api_token_created", "staff", staff.id)
    return token


def revoke_api_token(session: Session, staff: Staff, now: dt.datetime, actor: str) -> None:
    staff.api_token_hash = None
    audit.record(session, now, actor, "api_token_revoked", "staff", staff.id)


def staff_by_token(session: Session, token: str) -> Staff | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    query = select(Staff).where(Staff.api_token_hash == token_hash(token), Staff.active.is_(True))
    return session.scalars(query).first()
