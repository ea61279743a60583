"""Service orders (代买代送): each need keyed in a call becomes an order in the community queue.

Lifecycle: ``open`` → ``taken`` (接单, by whom) → ``delivered`` (when, by whom, note), or
``cancelled`` from either. One order per resident, need and local day (a unique key): asking
again the same day changes nothing, except that a cancelled order is opened again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.domain import audit, order_reminders
from ivr.domain.escalations import LifecycleError
from ivr.domain.households import household_names
from storage import CheckIn, Community, Resident, ServiceOrder

log = logging.getLogger(__name__)

NEEDS = ("groceries", "medicine", "supplies", "garbage")
STATUSES = ("open", "taken", "delivered", "cancelled")


def open_orders(
    session: Session,
    checkin_or_resident: CheckIn | Resident,
    needs: list[str],
    now: dt.datetime,
    tz: dt.tzinfo | None = None,
) -> list[ServiceOrder]:
    """Open an order per need (the check-in's local day, else today in ``tz``); the new ones."""
    if isinstance(checkin_or_resident, CheckIn):
        checkin: CheckIn | None = checkin_or_resident
        resident, day = checkin_or_resident.resident, checkin_or_resident.local_date
    else:
        if tz is None:
            raise ValueError("open_orders needs tz when no check-in gives the day")
        checkin, resident, day = None, checkin_or_resident, now.astimezone(tz).date()
    opened = []
    for need in dict.fromkeys(needs):
        order = _open_one(session, resident, checkin, str(need), day, now)
        if order is not None:
            opened.append(order)
    return opened


def _open_one(
    session: Session,
    resident: Resident,
    checkin: CheckIn | None,
    need: str,
    day: dt.date,
    now: dt.datetime,
) -> ServiceOrder | None:
    existing = _existing(session, resident.id, need, day)
    if existing is None:
        order = ServiceOrder(
            resident_id=resident.id,
            community_id=resident.community_id,
            checkin_id=checkin.id if checkin else None,
            need=need,
            local_date=day,
            status="open",
            opened_at=now,
        )
        try:
            with session.begin_nested():
                session.add(order)
        except IntegrityError:  # a concurrent request opened it first
            log.info("resident %s: %s order for %s opened concurrently", resident.id, need, day)
            return None
        audit.record(session, now, audit.SYSTEM, "order_opened", "service_order", order.id, need)
        log.info("order %s opened: %s for resident %s", order.id, need, resident.id)
        return order
    if existing.status != "cancelled":
        log.info(
            "resident %s: %s already ordered on %s (order %s)", resident.id, need, day, existing.id
        )
        return None
    existing.status, existing.opened_at, existing.cancelled_at = "open", now, None
    existing.taken_by = existing.taken_at = existing.reminded_at = None
    existing.reminders = 0
    audit.record(session, now, audit.SYSTEM, "order_reopened", "service_order", existing.id, need)
    log.info("order %s opened again: %s asked for again", existing.id, need)
    return existing


def _existing(session: Session, resident_id: int, need: str, day: dt.date) -> ServiceOrder | None:
    query = select(ServiceOrder).where(
        ServiceOrder.resident_id == resident_id,
        ServiceOrder.need == need,
        ServiceOrder.local_date == day,
    )
    return session.scalars(query.with_for_update()).first()


def take(
    session: Session,
    order_id: int,
    actor: str,
    now: dt.datetime,
    community_id: int | None = None,
    eta: dt.datetime | None = None,
) -> ServiceOrder:
    """``open`` → ``taken`` (接单): ``actor`` will deliver it, expected at ``eta`` if given
    (the resident hears it in their next call)."""
    order = _load(session, order_id, community_id)
    if order.status != "open":
        raise LifecycleError(f"order {order_id} is already {order.status}")
    order.status, order.taken_by, order.taken_at, order.eta_at = "taken", actor, now, eta
    order_reminders.cancel_queued(session, order.id)
    detail = f"eta {eta.isoformat(timespec='minutes')}" if eta else None
    audit.record(session, now, actor, "order_taken", "service_order", order.id, detail)
    log.info("order %s taken", order.id)
    return order


def parse_eta(raw: str, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """A delivery time as staff type it: "10:00" (the next such time from now, today or
    tomorrow) or "2026-11-29 10:00"; raises ``LifecycleError`` for anything else."""
    raw = raw.strip()
    local_now = now.astimezone(tz)
    try:
        if len(raw) <= 5:
            clock = dt.datetime.strptime(raw, "%H:%M").time()
            when = dt.datetime.combine(local_now.date(), clock, tz)
            return when if when >= local_now else when + dt.timedelta(days=1)
        return dt.datetime.strptime(raw, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError:
        raise LifecycleError(
            f"delivery time {raw[:20]!r}: give HH:MM or YYYY-MM-DD HH:MM", "invalid"
        ) from None


def deliver(
    session: Session,
    order_id: int,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
    community_id: int | None = None,
) -> ServiceOrder:
    """``taken`` (or still ``open``: taken and delivered at once) → ``delivered``."""
    order = _unfinished(session, order_id, community_id)
    if order.taken_at is None:
        order.taken_by, order.taken_at = actor, now
    order.delivered_by, order.delivered_at = actor, now
    return _finish(session, order, "delivered", actor, now, note)


def cancel(
    session: Session,
    order_id: int,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
    community_id: int | None = None,
) -> ServiceOrder:
    """``open``/``taken`` → ``cancelled`` (no longer needed, or a mistake)."""
    order = _unfinished(session, order_id, community_id)
    order.cancelled_at = now
    return _finish(session, order, "cancelled", actor, now, note)


def _unfinished(session: Session, order_id: int, community_id: int | None) -> ServiceOrder:
    order = _load(session, order_id, community_id)
    if order.status not in ("open", "taken"):
        raise LifecycleError(f"order {order_id} is already {order.status}")
    return order


def _finish(
    session: Session,
    order: ServiceOrder,
    status: str,
    actor: str,
    now: dt.datetime,
    note: str | None,
) -> ServiceOrder:
    """The last step of an order (``delivered`` or ``cancelled``), with its note and audit."""
    order.status = status
    order.note = note or order.note
    order_reminders.cancel_queued(session, order.id)
    audit.record(session, now, actor, f"order_{status}", "service_order", order.id, note)
    log.info("order %s %s", order.id, status)
    return order


def _load(session: Session, order_id: int, community_id: int | None) -> ServiceOrder:
    order = session.get(ServiceOrder, order_id, with_for_update=True)
    if order is None:
        raise LifecycleError(f"there is no order {order_id}", "not_found")
    if community_id is not None and order.community_id != community_id:
        log.warning("order %s: change refused for another community", order_id)
        raise LifecycleError(f"order {order_id} belongs to another community", "forbidden")
    return order


def order_rows(
    session: Session,
    tz: dt.tzinfo,
    community: str | None = None,
    status: str | None = None,
    day: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Orders as plain rows (the CLI's table and ``--json``), oldest first."""
    query = (
        select(ServiceOrder, Resident, Community)
        .join(Resident, Resident.id == ServiceOrder.resident_id)
        .join(Community, Community.id == ServiceOrder.community_id)
        .order_by(ServiceOrder.opened_at, ServiceOrder.id)
    )
    if community:
        query = query.where(Community.name == community)
    if status:
        query = query.where(ServiceOrder.status == status)
    if day:
        query = query.where(ServiceOrder.local_date == day)
    rows = session.execute(query).all()
    homes = household_names(session, [r.phone for _, r, _ in rows])
    return [
        {
            "id": o.id,
            "date": o.local_date.isoformat(),
            "community": c.name,
            "name": r.name,
            "phone": r.phone,
            "address": r.address,
            "need": o.need,
            "status": o.status,
            "opened_at": _local(o.opened_at, tz),
            "taken_by": o.taken_by,
            "eta": _local(o.eta_at, tz),
            "delivered_at": _local(o.delivered_at, tz),
            "note": o.note,
            "household": homes.get(r.phone),  # a household's needs: everyone on the phone
        }
        for o, r, c in rows
    ]


def order_stats(
    session: Session, day_from: dt.date, day_to: dt.date, tz: dt.tzinfo
) -> list[dict[str, Any]]:
    """Per community and local day (inclusive range): orders opened and orders delivered."""
    start = dt.datetime.combine(day_from, dt.time(), tz)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(), tz)
    query = (
        select(ServiceOrder, Community.name)
        .join(Community, Community.id == ServiceOrder.community_id)
        .where(
            or_(
                ServiceOrder.local_date.between(day_from, day_to),
                ServiceOrder.delivered_at.between(start, end),
            )
        )
    )
    opened: Counter[tuple[str, dt.date]] = Counter()
    delivered: Counter[tuple[str, dt.date]] = Counter()
    for order, name in session.execute(query):
        if day_from <= order.local_date <= day_to:
            opened[(name, order.local_date)] += 1
        if order.delivered_at is not None:
            when = order.delivered_at.astimezone(tz).date()
            if day_from <= when <= day_to:
                delivered[(name, when)] += 1
    return [
        {
            "community": name,
            "date": day.isoformat(),
            "opened": opened[key],
            "delivered": delivered[key],
        }
        for key in sorted(set(opened) | set(delivered), key=lambda k: (k[1], k[0]))
        for name, day in [key]
    ]


def _local(when: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return when.astimezone(tz).isoformat(timespec="seconds") if when else None
