"""The door-to-door list (上门清单) of one community and day: who needs a visit (red, orange),
whose orders are to be delivered, whose garbage is to be picked up, grouped by building.

It is what a staff member or the property company (物业) carries up the stairs, so it holds
addresses, colours and order types only: never a temperature, a symptom, a note or a phone
number. Names are added for community staff, not for the property company.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.domain.households import household_names
from ivr.web.dashboard.board import building_of, colour, is_colour
from storage import Resident, ServiceOrder

COLOUR_ORDER = ("red", "orange", "yellow", "green", "pending", "grey")
VISIT = ("red", "orange")
GARBAGE = "garbage"
_YARD = re.compile(r"^(.*?\d+\s*(?:号院|號院))")


@dataclass
class Door:
    resident_id: int
    name: str | None  # None on the property company's list
    address: str
    door: str  # the address past its building: "1单元302"
    colour: str
    deliveries: list[str] = field(default_factory=list)  # needs to bring up
    garbage_order: int | None = None  # the garbage order to pick up, if any

    @property
    def visit(self) -> bool:
        return self.colour in VISIT

    @property
    def rank(self) -> int:
        return _rank(self.colour)


@dataclass
class Building:
    name: str  # "" when the address names none
    doors: list[Door]

    @property
    def rank(self) -> int:
        return min(d.rank for d in self.doors)


def building_and_door(address: str | None) -> tuple[str, str]:
    """ "建设西路12号院1号楼1单元302" → ("建设西路12号院1号楼", "1单元302"); an address naming only
    a yard (院) is grouped by it; one naming neither is a building of its own."""
    text = (address or "").strip()
    found = building_of(text)
    if found is None:
        yard = _YARD.match(text)
        found = yard.group(1) if yard else None
    if found is None:
        return "", text
    return found, text[len(found) :]


def door_list(
    session: Session, community_id: int, day: dt.date, fever_c: Decimal, *, names: bool
) -> list[Building]:
    """Buildings in colour order (the most urgent first), their doors likewise. A household
    (residents sharing a phone) is one door, named by its members, in its most urgent colour."""
    doors: dict[str, Door] = {}
    for resident, shade in _visits(session, community_id, day, fever_c):
        _at_door(doors, resident, shade, names)
    for order, resident, shade in _orders(session, community_id, day, fever_c):
        door = _at_door(doors, resident, shade, names)
        if order.need == GARBAGE:
            door.garbage_order = order.id
        elif order.need not in door.deliveries:
            door.deliveries.append(order.need)
    if names:  # whoever opens the door: the household's members, not just the one listed
        for phone, name in household_names(session, list(doors)).items():
            doors[phone].name = name
    grouped: dict[str, list[Door]] = defaultdict(list)
    for door in doors.values():
        grouped[building_and_door(door.address)[0]].append(door)
    buildings = [
        Building(name, sorted(found, key=lambda d: (d.rank, d.door, d.resident_id)))
        for name, found in grouped.items()
    ]
    return sorted(buildings, key=lambda b: (b.rank, b.name == "", b.name))


def _at_door(doors: dict[str, Door], resident: Resident, shade: str, names: bool) -> Door:
    """The resident's household's door (made on first sight), in its most urgent colour."""
    door = doors.get(resident.phone)
    if door is None:
        address = resident.address or ""
        door = doors[resident.phone] = Door(
            resident.id,
            resident.name if names else None,
            address,
            building_and_door(address)[1],
            shade,
        )
    elif _rank(shade) < door.rank:
        door.colour = shade
    return door


def _rank(shade: str) -> int:
    return COLOUR_ORDER.index(shade) if shade in COLOUR_ORDER else 99


def _visits(
    session: Session, community_id: int, day: dt.date, fever_c: Decimal
) -> list[tuple[Resident, str]]:
    query = (
        select(Resident, colour(day, fever_c))
        .where(
            Resident.community_id == community_id,
            or_(*(is_colour(c, day, fever_c) for c in VISIT)),
        )
        .order_by(Resident.id)
    )
    return [(r, shade) for r, shade in session.execute(query)]


def _orders(
    session: Session, community_id: int, day: dt.date, fever_c: Decimal
) -> list[tuple[ServiceOrder, Resident, str]]:
    """Orders still to deliver on ``day``: asked for by then and neither delivered nor
    cancelled."""
    query = (
        select(ServiceOrder, Resident, colour(day, fever_c))
        .join(Resident, Resident.id == ServiceOrder.resident_id)
        .where(
            ServiceOrder.community_id == community_id,
            ServiceOrder.status.in_(("open", "taken")),
            ServiceOrder.local_date <= day,
        )
        .order_by(ServiceOrder.id)
    )
    return [(o, r, shade) for o, r, shade in session.execute(query)]
