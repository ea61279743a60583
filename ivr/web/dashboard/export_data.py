"""Rows for the exports: check-ins (with every generic answer), calls, escalations, orders.

Rows are produced in chunks as the database returns them, so a month of a whole district is
streamed rather than held in memory. Column names follow the CLI's ``--json`` fields.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.domain.households import household_names
from ivr.domain.reports import answers_by_checkin, keys_of
from ivr.web.dashboard import escalation_words
from ivr.web.dashboard.queries import AnySelect, in_scope
from storage import (
    Answer,
    CallAttempt,
    CallEvent,
    CheckIn,
    Community,
    Escalation,
    Resident,
    Round,
    ServiceOrder,
)

KINDS = ("checkins", "calls", "escalations", "orders")
CHUNK = 1000


@dataclass(frozen=True)
class Window:
    day_from: dt.date
    day_to: dt.date
    tz: dt.tzinfo
    community_id: int | None  # the viewer's scope
    list_keys: frozenset[str]  # answers that hold several values

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.day_from, dt.time(), self.tz)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.day_to + dt.timedelta(days=1), dt.time(), self.tz)

    def local(self, when: dt.datetime | None) -> dt.datetime | None:
        return when.astimezone(self.tz) if when else None


def table(session: Session, kind: str, window: Window) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and the rows of export ``kind``."""
    builders = {
        "checkins": _checkins,
        "calls": _calls,
        "escalations": _escalations,
        "orders": _orders,
    }
    return builders[kind](session, window)


def _chunks(session: Session, query: AnySelect) -> Iterator[Sequence[Any]]:
    yield from session.execute(query.execution_options(yield_per=CHUNK)).partitions()


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _checkins(session: Session, w: Window) -> tuple[list[str], Iterator[list[Any]]]:
    base = in_scope(
        select(CheckIn, Resident, Community.name, Round.slot)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .join(Community, Community.id == Resident.community_id)
        .outerjoin(Round, Round.id == CheckIn.round_id)
        .where(CheckIn.local_date.between(w.day_from, w.day_to))
        .order_by(CheckIn.local_date, Community.name, Resident.name, CheckIn.id),
        Resident.community_id,
        w.community_id,
    )
    keys_query = in_scope(
        select(Answer.key)
        .join(CheckIn, CheckIn.id == Answer.checkin_id)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .where(CheckIn.local_date.between(w.day_from, w.day_to))
        .distinct(),
        Resident.community_id,
        w.community_id,
    )
    keys = sorted(session.scalars(keys_query))
    header = [
        "id", "date", "round", "community", "name", "phone", "address", "status",
        "temperature_c", "temperature_confirmed", "symptoms", "needs", "callback_requested",
        "attempts", "source", "household",
    ] + [f"answer:{k}" for k in keys]  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for chunk in _chunks(session, base):
            answers = answers_by_checkin(session, [c.id for c, *_ in chunk], w.list_keys)
            homes = household_names(session, [r.phone for _, r, *_ in chunk])
            for c, r, community, slot in chunk:
                given = answers[c.id]
                yield [
                    c.id, c.local_date, slot or "", community, r.name, r.phone,
                    r.address or "", c.status, _number(c.temperature_c),
                    _confirmed(c), c.symptoms,
                    ";".join(c.needs or []), c.callback_requested, c.attempts, c.source,
                    homes.get(r.phone, ""),
                ] + [_cell(given.get(k)) for k in keys]  # fmt: skip

    return header, rows()


def _confirmed(checkin: CheckIn) -> bool | None:
    """Whether the reading was confirmed at the read-back; empty without a reading."""
    return checkin.temperature_confirmed if checkin.temperature_c is not None else None


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def _calls(session: Session, w: Window) -> tuple[list[str], Iterator[list[Any]]]:
    base = in_scope(
        select(CallAttempt, Resident.name, Community.name)
        .outerjoin(Resident, Resident.id == CallAttempt.resident_id)
        .outerjoin(Community, Community.id == Resident.community_id)
        .where(CallAttempt.created_at >= w.start, CallAttempt.created_at < w.end)
        .order_by(CallAttempt.created_at, CallAttempt.id),
        Resident.community_id,
        w.community_id,
    )
    header = [
        "id", "call_sid", "created_at", "community", "name", "phone", "direction", "attempt",
        "state", "status", "answered_by", "duration_s", "outcome", "keys", "error",
    ]  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for chunk in _chunks(session, base):
            events = _events(session, [a.id for a, *_ in chunk])
            for a, name, community in chunk:
                keyed = " ".join(f"{k['step']}={k['keys']}" for k in keys_of(events[a.id]))
                yield [
                    a.id, a.call_sid or "", w.local(a.created_at), community or "", name or "",
                    a.phone or "", a.direction, a.attempt_no, a.state, a.status or "",
                    a.answered_by or "", a.duration_s, a.outcome or "", keyed,
                    a.carrier_error or "",
                ]  # fmt: skip

    return header, rows()


def _events(session: Session, attempt_ids: list[int]) -> dict[int, list[CallEvent]]:
    found: dict[int, list[CallEvent]] = defaultdict(list)
    query = (
        select(CallEvent)
        .where(CallEvent.attempt_id.in_(attempt_ids), CallEvent.kind.in_(("key", "silence")))
        .order_by(CallEvent.id)
    )
    for event in session.scalars(query):
        found[event.attempt_id].append(event)
    return found


def _escalations(session: Session, w: Window) -> tuple[list[str], Iterator[list[Any]]]:
    base = in_scope(
        select(Escalation, Resident, Community.name)
        .join(Resident, Resident.id == Escalation.resident_id)
        .join(Community, Community.id == Escalation.community_id)
        .where(Escalation.opened_at >= w.start, Escalation.opened_at < w.end)
        .order_by(Escalation.opened_at, Escalation.id),
        Escalation.community_id,
        w.community_id,
    )
    header = [
        "id", "opened_at", "community", "name", "phone", "address", "reason", "severity",
        "status", "temperature_c", "temperature_confirmed", "events", "acknowledged_by",
        "acknowledged_at", "resolved_by", "resolved_at", "outcome", "note", "detail",
        "detail_text",  # the same events in the viewer's words; "detail" stays as it was
        "household",
    ]  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for chunk in _chunks(session, base):
            homes = household_names(session, [r.phone for _, r, _ in chunk])
            for e, r, community in chunk:
                yield [
                    e.id, w.local(e.opened_at), community, r.name, r.phone, r.address or "",
                    e.reason, e.severity, e.status, _number(e.temperature_c),
                    e.temperature_confirmed if e.temperature_c is not None else None, e.events,
                    e.acknowledged_by or "", w.local(e.acknowledged_at), e.resolved_by or "",
                    w.local(e.resolved_at), e.outcome or "", e.note or "", e.detail,
                    "\n".join(escalation_words.lines(e, w.tz)),
                    homes.get(r.phone, ""),
                ]  # fmt: skip

    return header, rows()


def _orders(session: Session, w: Window) -> tuple[list[str], Iterator[list[Any]]]:
    base = in_scope(
        select(ServiceOrder, Resident, Community.name)
        .join(Resident, Resident.id == ServiceOrder.resident_id)
        .join(Community, Community.id == ServiceOrder.community_id)
        .where(ServiceOrder.local_date.between(w.day_from, w.day_to))
        .order_by(ServiceOrder.local_date, ServiceOrder.opened_at, ServiceOrder.id),
        ServiceOrder.community_id,
        w.community_id,
    )
    header = [
        "id", "date", "community", "name", "phone", "address", "need", "status", "opened_at",
        "taken_by", "taken_at", "delivered_by", "delivered_at", "note", "household",
    ]  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for chunk in _chunks(session, base):
            homes = household_names(session, [r.phone for _, r, _ in chunk])
            for o, r, community in chunk:
                yield [
                    o.id, o.local_date, community, r.name, r.phone, r.address or "",
                    o.need, o.status, w.local(o.opened_at), o.taken_by or "", w.local(o.taken_at),
                    o.delivered_by or "", w.local(o.delivered_at), o.note or "",
                    homes.get(r.phone, ""),
                ]  # fmt: skip

    return header, rows()
