"""``pingan staff``: community staff (add, list, remove, passwd, token) and the duty roster."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import clock_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.db import session_scope
from ivr.domain import audit
from ivr.domain.staff import (
    ROLES,
    WEEKDAYS,
    StaffError,
    add_shift,
    add_staff,
    find_staff,
    may_act_for,
    remove_staff,
    roster_gaps,
    uncovered,
)
from ivr.phones import display_phone
from ivr.tables import format_table
from ivr.web.dashboard.accounts import AccountError, new_api_token, revoke_api_token, set_password
from storage import Community, DutyShift, Staff


def community_named(session: Session, name: str) -> Community:
    found = session.scalars(select(Community).where(Community.name == name)).first()
    if found is None:
        raise click.ClickException(f"no community named {name!r}")
    return found


def staff_ref(session: Session, ref: str, region: str, *, acting_for: int | None = None) -> Staff:
    """``--by``/``STAFF`` arguments: an active staff member's phone number or (unique) name;
    with ``acting_for``, one who may act for that community (as on the dashboard and by SMS)."""
    staff = find_staff(session, ref, region)
    if staff is None:
        raise click.ClickException(
            f"no active staff member {ref!r} (give a phone number, or a name only one has)"
        )
    if acting_for is not None and not may_act_for(staff, acting_for):
        community = session.get(Community, acting_for)
        raise click.ClickException(
            f"{staff.name} does not act for {community.name if community else acting_for}"
        )
    return staff


def warn_uncovered(session: Session, pingan: Pingan) -> None:
    """On stderr: each watched community with no one on duty now, and roster hours nobody has."""
    app = pingan.app
    session.flush()
    for name in uncovered(session, clock_of(app).now(), settings_of(app).tz):
        click.echo(
            f"warning: {name} has no one on duty: its alerts go to the supervisors,"
            " else to the duty phone",
            err=True,
        )
    for community in session.scalars(select(Community).order_by(Community.name)):
        gaps = roster_gaps(session, community.id)
        if gaps:
            click.echo(
                f"warning: {community.name}: no shift covers {gaps}"
                " (all its staff are alerted then)",
                err=True,
            )


@cli.group("staff")
def staff_group() -> None:
    """Community staff and who is on duty when."""


@staff_group.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True, help="Mobile number; SMS alerts go here.")
@click.option("--community", help="Their community (supervisors and admins may have none).")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@pass_pingan
def add(pingan: Pingan, name: str, phone: str, community: str | None, role: str) -> None:
    """Register a staff member."""
    app = pingan.app
    with session_scope(app) as session:
        community_id = community_named(session, community).id if community else None
        try:
            staff = add_staff(
                session,
                name,
                phone,
                community_id,
                role,
                clock_of(app).now(),
                region=settings_of(app).phone_region,
                actor="cli",
            )
        except StaffError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"staff {staff.id}: {staff.name} ({staff.role}) {staff.phone}")


@staff_group.command("list")
@click.option("--community", help="Only this community.")
@click.option("--all", "show_all", is_flag=True, help="Include removed staff.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_pingan
def list_(pingan: Pingan, community: str | None, show_all: bool, as_json: bool) -> None:
    """Staff with their community and role."""
    region = settings_of(pingan.app).phone_region
    with session_scope(pingan.app) as session:
        query = select(Staff).order_by(Staff.community_id, Staff.id)
        if community:
            query = query.where(Staff.community_id == community_named(session, community).id)
        if not show_all:
            query = query.where(Staff.active.is_(True))
        rows = [
            {
                "id": s.id,
                "name": s.name,
                "phone": s.phone,
                "community": s.community.name if s.community else None,
                "role": s.role,
                "active": s.active,
            }
            for s in session.scalars(query)
        ]
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            ["id", "name", "phone", "community", "role", "active"],
            [
                [
                    r["id"],
                    r["name"],
                    display_phone(str(r["phone"]), region),
                    r["community"] or "(all)",
                    r["role"],
                    r["active"],
                ]
                for r in rows
            ],
        )
    )


@staff_group.command("remove")
@click.argument("staff")
@pass_pingan
def remove(pingan: Pingan, staff: str) -> None:
    """Remove a staff member (by phone or name); they get no more alerts."""
    app = pingan.app
    with session_scope(app) as session:
        found = staff_ref(session, staff, settings_of(app).phone_region)
        remove_staff(session, found, clock_of(app).now(), "cli")
        click.echo(f"staff {found.id} ({found.name}) removed")
        warn_uncovered(session, pingan)


@staff_group.group("duty", invoke_without_command=True)
@click.option("--community", help="Only this community.")
@click.pass_context
def duty(ctx: click.Context, community: str | None) -> None:
    """The duty roster (a community without one has all its staff on duty)."""
    if ctx.invoked_subcommand is not None:
        return
    pingan = ctx.ensure_object(Pingan)
    with session_scope(pingan.app) as session:
        query = select(DutyShift, Community).join(Community).order_by(Community.name, DutyShift.id)
        if community:
            query = query.where(Community.name == community)
        rows = [
            [s.id, c.name, s.staff.name, _day_name(s.weekday), f"{s.start}-{s.end}"]
            for s, c in session.execute(query)
        ]
        click.echo(format_table(["id", "community", "staff", "day", "hours"], rows))
        warn_uncovered(session, pingan)


def _day_name(weekday: int | None) -> str:
    return "all" if weekday is None else WEEKDAYS[weekday]


@duty.command("add")
@click.argument("staff")
@click.option("--community", help="Default: the staff member's own.")
@click.option("--day", type=click.Choice([*WEEKDAYS, "all"]), default="all", show_default=True)
@click.option("--from", "start", default="00:00", show_default=True, help="Local HH:MM.")
@click.option("--to", "end", default="24:00", show_default=True, help="Local HH:MM.")
@pass_pingan
def duty_add(
    pingan: Pingan, staff: str, community: str | None, day: str, start: str, end: str
) -> None:
    """Put STAFF (phone or name) on duty for a community on a weekday between two times."""
    app = pingan.app
    with session_scope(app) as session:
        found = staff_ref(session, staff, settings_of(app).phone_region)
        where = community_named(session, community) if community else found.community
        if where is None:
            raise click.ClickException("give --community for staff without a community")
        weekday = None if day == "all" else WEEKDAYS.index(day)
        try:
            shift = add_shift(session, found, where, weekday, start, end)
        except StaffError as exc:
            raise click.ClickException(str(exc)) from None
        detail = f"{found.name} {where.name} {day} {start}-{end}"
        audit.record(
            session, clock_of(app).now(), "cli", "shift_added", "duty_shift", shift.id, detail
        )
        click.echo(f"shift {shift.id}: {detail}")
        warn_uncovered(session, pingan)


@duty.command("remove")
@click.argument("shift_id", type=int)
@pass_pingan
def duty_remove(pingan: Pingan, shift_id: int) -> None:
    """Remove one shift from the roster."""
    app = pingan.app
    with session_scope(app) as session:
        shift = session.get(DutyShift, shift_id)
        if shift is None:
            raise click.ClickException(f"there is no shift {shift_id}")
        session.delete(shift)
        audit.record(session, clock_of(app).now(), "cli", "shift_removed", "duty_shift", shift_id)
        click.echo(f"shift {shift_id} removed")
        warn_uncovered(session, pingan)


@staff_group.command("passwd")
@click.argument("staff")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (asked for, twice, when not given).",
)
@pass_pingan
def passwd(pingan: Pingan, staff: str, password: str) -> None:
    """Set the dashboard password of STAFF (phone or name); signs out their other sessions."""
    app = pingan.app
    with session_scope(app) as session:
        found = staff_ref(session, staff, settings_of(app).phone_region)
        try:
            set_password(session, found, password, clock_of(app).now(), "cli")
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"password set for staff {found.id} ({found.name})")


@staff_group.command("token")
@click.argument("staff")
@click.option("--revoke", is_flag=True, help="Remove the token instead of making a new one.")
@pass_pingan
def token(pingan: Pingan, staff: str, revoke: bool) -> None:
    """Make an API token for STAFF (printed once; only its hash is kept), or --revoke it."""
    app = pingan.app
    with session_scope(app) as session:
        found = staff_ref(session, staff, settings_of(app).phone_region)
        if revoke:
            revoke_api_token(session, found, clock_of(app).now(), "cli")
            click.echo(f"API token of staff {found.id} ({found.name}) revoked")
            return
        secret = new_api_token(session, found, clock_of(app).now(), "cli")
    click.echo(secret)
    click.echo(
        f"(API token for staff {found.id}, {found.name}: send it as "
        "'Authorization: Bearer <token>'; it is not shown again)",
        err=True,
    )
