"""Community staff and the duty roster: who is told when an escalation opens.

A community with no ``DutyShift`` rows has all its active staff on duty all the time. With a
roster, the staff whose shift covers the current local time are on duty; if the roster leaves a
gap, every active staff member of the community is told rather than nobody.

A community with no active staff at all has no one on duty: its alerts go to the supervisors,
else to the community's duty phone, else to the deployment's (``alert_targets``), and
``uncovered`` names it for ``pingan health`` and the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from ivr.domain import audit
from ivr.phones import PhoneError, mask_phone, normalize_phone
from storage import Community, DutyShift, Resident, Staff

log = logging.getLogger(__name__)

ROLES = ("staff", "supervisor", "admin", "property")
SUPERVISING = ("supervisor", "admin")
# The property company (物业): sees the door-to-door list of its community and nothing of
# anyone's health; never on duty, never alerted, never acting on an escalation or a call.
PROPERTY = "property"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class StaffError(ValueError):
    """A staff change that cannot be made; the message is one sentence for a person."""


def add_staff(
    session: Session,
    name: str,
    phone: str,
    community_id: int | None,
    role: str,
    now: dt.datetime,
    *,
    region: str = "CN",
    actor: str = audit.SYSTEM,
) -> Staff:
    """Register a staff member (or bring back a removed one with the same phone)."""
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if community_id is None and role in ("staff", PROPERTY):
        raise StaffError("a staff member belongs to a community")
    try:
        e164 = normalize_phone(phone, region)
    except PhoneError as exc:
        raise StaffError(f"{phone!r}: {exc}") from None
    staff = session.scalars(select(Staff).where(Staff.phone == e164)).first()
    if staff is not None and staff.active:
        raise StaffError(f"{e164} is already registered to {staff.name}")
    if staff is None:
        staff = Staff(phone=e164, created_at=now)
        session.add(staff)
    staff.name, staff.community_id, staff.role, staff.active = name, community_id, role, True
    session.flush()
    audit.record(session, now, actor, "staff_added", "staff", staff.id, f"{name} {role}")
    log.info("staff %s added: %s, %s", staff.id, mask_phone(e164), role)
    return staff


def end_sessions(staff: Staff) -> None:
    """Sign ``staff`` out of the dashboard on every device: the sessions carry the generation
    they began in, and one older than the staff member's is refused (``ivr.web.dashboard.auth``).
    The session cookie itself lives in the browser and cannot be taken back."""
    staff.session_generation = (staff.session_generation or 0) + 1


def remove_staff(session: Session, staff: Staff, now: dt.datetime, actor: str) -> None:
    """Deactivate (rows stay, since escalations name who acknowledged them)."""
    staff.active = False
    end_sessions(staff)  # a staff member added back later does not get the old sessions back
    audit.record(session, now, actor, "staff_removed", "staff", staff.id, staff.name)
    log.info("staff %s removed", staff.id)


def find_staff(session: Session, ref: str, region: str = "CN") -> Staff | None:
    """An active staff member by phone number or by name (None if unknown or ambiguous)."""
    try:
        e164 = normalize_phone(ref, region)
    except PhoneError:
        e164 = None
    if e164 is not None:
        return session.scalars(
            select(Staff).where(Staff.phone == e164, Staff.active.is_(True))
        ).first()
    named = list(session.scalars(select(Staff).where(Staff.name == ref, Staff.active.is_(True))))
    return named[0] if len(named) == 1 else None


def staff_by_phone(session: Session, phone: str) -> Staff | None:
    return session.scalars(
        select(Staff).where(Staff.phone == phone, Staff.active.is_(True))
    ).first()


def may_act_for(staff: Staff, community_id: int) -> bool:
    """Staff act for their own community; supervisors and admins without one act for all."""
    if staff.role == PROPERTY:
        return False
    if staff.community_id == community_id:
        return True
    return staff.role in SUPERVISING and staff.community_id is None


def add_shift(
    session: Session,
    staff: Staff,
    community: Community,
    weekday: int | None,
    start: str,
    end: str,
) -> DutyShift:
    """A weekly shift (``weekday`` 0 = Monday, None = every day), local ``start``–``end``."""
    if not _valid_time(start) or not _valid_time(end) or not start < end:
        raise StaffError("a shift runs from HH:MM to a later HH:MM (split overnight shifts)")
    shift = DutyShift(
        community_id=community.id, staff_id=staff.id, weekday=weekday, start=start, end=end
    )
    session.add(shift)
    session.flush()
    return shift


def _valid_time(value: str) -> bool:
    if value == "24:00":
        return True
    try:
        dt.time.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 5


def on_duty(session: Session, community_id: int, now: dt.datetime, tz: dt.tzinfo) -> list[Staff]:
    """The active staff on duty for ``community_id`` at ``now`` (see the module docstring)."""
    everyone = list(
        session.scalars(
            select(Staff)
            .where(
                Staff.community_id == community_id,
                Staff.active.is_(True),
                Staff.role != PROPERTY,
            )
            .order_by(Staff.id)
        )
    )
    shifts = list(session.scalars(select(DutyShift).where(DutyShift.community_id == community_id)))
    if not shifts:
        return everyone
    local = now.astimezone(tz)
    clock = local.strftime("%H:%M")
    found = {
        s.staff.id: s.staff
        for s in shifts
        if s.staff.active
        and s.staff.role != PROPERTY
        and (s.weekday is None or s.weekday == local.weekday())
        and s.start <= clock < s.end
    }
    if not found:
        log.warning(
            "community %s: nobody on the roster at %s; telling all staff", community_id, clock
        )
        return everyone
    return [found[k] for k in sorted(found)]


def supervisors(session: Session, community_id: int) -> list[Staff]:
    """Active supervisors and admins of the community, or of every community."""
    query = (
        select(Staff)
        .where(
            Staff.active.is_(True),
            Staff.role.in_(SUPERVISING),
            or_(Staff.community_id == community_id, Staff.community_id.is_(None)),
        )
        .order_by(Staff.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class AlertTargets:
    phones: list[str]
    via: str  # duty | supervisors | duty_phone | nobody


def alert_targets(
    session: Session,
    community: Community,
    now: dt.datetime,
    tz: dt.tzinfo,
    fallback_phone: str | None,
) -> AlertTargets:
    """Who is texted first about an escalation: the staff on duty, or else, at once rather than
    at the first SLA reminder, the supervisors, the community's duty phone, ``fallback_phone``."""
    staff = [s.phone for s in on_duty(session, community.id, now, tz)]
    if staff:
        return AlertTargets(staff, "duty")
    bosses = [s.phone for s in supervisors(session, community.id)]
    if bosses:
        return AlertTargets(bosses, "supervisors")
    phone = community.duty_phone or fallback_phone
    return AlertTargets([phone], "duty_phone") if phone else AlertTargets([], "nobody")


def uncovered(
    session: Session, now: dt.datetime, tz: dt.tzinfo, community_id: int | None = None
) -> list[str]:
    """Names of the communities with residents under watch and no one on duty at ``now``."""
    watched = exists().where(Resident.community_id == Community.id, Resident.released_at.is_(None))
    query = select(Community).where(watched).order_by(Community.name)
    if community_id is not None:
        query = query.where(Community.id == community_id)
    return [c.name for c in session.scalars(query) if not on_duty(session, c.id, now, tz)]


def roster_gaps(session: Session, community_id: int) -> str | None:
    """The weekly hours a community's roster leaves to nobody, in one line (None: no gap).

    ``"00:00-08:00, 20:00-24:00 every day"``, or per weekday where the days differ."""
    shifts = [
        s
        for s in session.scalars(select(DutyShift).where(DutyShift.community_id == community_id))
        if s.staff.active
    ]
    if not shifts:
        return None
    by_day = [
        _gaps([(s.start, s.end) for s in shifts if s.weekday in (None, day)]) for day in range(7)
    ]
    if not any(by_day):
        return None
    if len(set(by_day)) == 1:
        return f"{by_day[0]} every day"
    return "; ".join(f"{WEEKDAYS[d]} {gap}" for d, gap in enumerate(by_day) if gap)


def _gaps(intervals: list[tuple[str, str]]) -> str:
    gaps, covered_to = [], "00:00"
    for start, end in sorted(intervals):
        if start > covered_to:
            gaps.append(f"{covered_to}-{start}")
        covered_to = max(covered_to, end)
    if covered_to < "24:00":
        gaps.append(f"{covered_to}-24:00")
    return ", ".join(gaps)
