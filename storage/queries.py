"""Query building blocks shared by the app and the benchmarks (no session handling here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Float, Select, and_, case, false, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import GenericFunction

from storage.models import Escalation, Resident


class add_days(GenericFunction[dt.date]):
    """``date + n days``, written the way each database spells it."""

    type = Date()
    inherit_cache = True


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return (
        f"date({compiler.process(day, **kw)}, '+' || ({compiler.process(days, **kw)}) || ' days')"
    )


@compiles(add_days)
def _add_days_default(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} + ({compiler.process(days, **kw)}))"


class seconds_between(GenericFunction[float]):
    """``later - earlier`` in seconds, for two timestamps, the way each database spells it."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between)
def _seconds_between_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


def monitored_on(day: dt.date) -> ColumnElement[bool]:
    """SQL twin of ``Resident.monitored_on(day)`` (a test keeps the two in agreement)."""
    last_offset = case((Resident.isolation_days < 1, 0), else_=Resident.isolation_days - 1)
    return and_(
        Resident.released_at.is_(None),
        Resident.phone_invalid_at.is_(None),
        or_(Resident.hold_until.is_(None), Resident.hold_until < day),
        or_(
            Resident.isolation_start.is_(None),
            and_(
                Resident.isolation_start <= day,
                add_days(Resident.isolation_start, last_offset) >= day,
            ),
        ),
    )


def escalation_siblings(escalation: Escalation) -> Select[Escalation]:
    """The other unresolved escalations of this resident that share its acknowledgement code:
    those one reading opened together (a high fever and symptoms from one call)."""
    if escalation.ack_code is None:
        return select(Escalation).where(false())
    return (
        select(Escalation)
        .where(
            Escalation.resident_id == escalation.resident_id,
            Escalation.ack_code == escalation.ack_code,
            Escalation.status != "resolved",
            Escalation.id != escalation.id,
        )
        .order_by(Escalation.id)
    )
