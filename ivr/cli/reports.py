"""``pingan checkins``, ``pingan calls``, ``pingan escalations``: what was stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import clock_of, flow_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.cli.residents import find_resident, member_option
from ivr.cli.staff import staff_ref
from ivr.db import session_scope
from ivr.domain.checkins import record_on_behalf, temperature_problem
from ivr.domain.escalations import OUTCOMES, LifecycleError, acknowledge, history, resolve
from ivr.domain.orders import NEEDS
from ivr.domain.reports import call_rows, checkin_rows, escalation_rows
from ivr.tables import format_table, shorten
from storage import Community, Escalation

date_option = click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Local date (YYYY-MM-DD); default all."
)
community_option = click.option("--community", help="Only this community.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")


def _check_community(session: Session, name: str | None) -> None:
    """A misspelt community would otherwise print an empty table, as if all were well."""
    if name is None:
        return
    known = list(session.scalars(select(Community.name).order_by(Community.name)))
    if name not in known:
        raise click.ClickException(
            f"no community named {name!r} (communities: {', '.join(known) or 'none yet'})"
        )


def _reading(value: object, confirmed: object) -> object:
    """A temperature as the table shows it; one never confirmed at the read-back says so."""
    return f"{value} (unconfirmed)" if value is not None and confirmed is False else value


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@cli.group("checkins", invoke_without_command=True)
@date_option
@community_option
@json_option
@click.pass_context
def checkins(
    ctx: click.Context, day: dt.datetime | None, community: str | None, as_json: bool
) -> None:
    """Check-ins: status, temperature, symptoms and needs (``record`` adds one by hand)."""
    if ctx.invoked_subcommand is not None:
        return
    pingan = ctx.ensure_object(Pingan)
    with session_scope(pingan.app) as session:
        tz = settings_of(pingan.app).tz
        _check_community(session, community)
        rows = checkin_rows(session, tz, _day(day), community, flow=flow_of(pingan.app))
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            [
                "date",
                "round",
                "community",
                "name",
                "phone",
                "status",
                "°C",
                "symptoms",
                "needs",
                "callback",
                "tries",
            ],
            [
                [
                    r["date"],
                    r["round"],
                    r["community"],
                    r["name"],
                    r["phone"],
                    r["status"],
                    _reading(r["temperature_c"], r["temperature_confirmed"]),
                    r["symptoms"],
                    r["needs"],
                    r["callback_requested"],
                    r["attempts"],
                ]
                for r in rows
            ],
        )
    )


@cli.command("calls")
@date_option
@community_option
@json_option
@pass_pingan
def calls(pingan: Pingan, day: dt.datetime | None, community: str | None, as_json: bool) -> None:
    """Every call attempt with its carrier status and the keys pressed."""
    with session_scope(pingan.app) as session:
        _check_community(session, community)
        rows = call_rows(session, settings_of(pingan.app).tz, _day(day), community)
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            ["started", "name", "phone", "try", "status", "answered_by", "secs", "outcome", "keys"],
            [
                [
                    (r["started_at"] or "")[:19],
                    r["name"],
                    r["phone"],
                    r["attempt"],
                    r["status"],
                    r["answered_by"],
                    r["duration_s"],
                    r["outcome"],
                    " ".join(f"{k['step']}:{k['keys'] or '-'}" for k in r["keys"]),
                ]
                for r in rows
            ],
        )
    )


@cli.group("escalations", invoke_without_command=True)
@click.option("--status", type=click.Choice(["open", "acknowledged", "resolved"]))
@community_option
@json_option
@click.pass_context
def escalations(
    ctx: click.Context, status: str | None, community: str | None, as_json: bool
) -> None:
    """The escalation list (subcommands act on one escalation)."""
    if ctx.invoked_subcommand is not None:
        return
    pingan = ctx.ensure_object(Pingan)
    with session_scope(pingan.app) as session:
        _check_community(session, community)
        rows = escalation_rows(session, settings_of(pingan.app).tz, status, community)
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            [
                "id",
                "opened",
                "community",
                "name",
                "phone",
                "reason",
                "severity",
                "status",
                "°C",
                "detail",
            ],
            [
                [
                    r["id"],
                    (r["opened_at"] or "")[:16],
                    r["community"],
                    r["name"],
                    r["phone"],
                    r["reason"],
                    r["severity"],
                    r["status"],
                    r["temperature_c"],
                    shorten(r["detail"].splitlines()[-1], 60) if r["detail"] else "",
                ]
                for r in rows
            ],
        )
    )


@checkins.command("record")
@click.argument("phone")
@click.option(
    "--temperature",
    type=click.STRING,
    help="°C, as measured by or for staff (34.0–42.0, as the call accepts).",
)
@click.option("--symptoms", type=click.Choice(["yes", "no"]))
@click.option("--need", "needs", multiple=True, type=click.Choice(NEEDS), help="Repeatable.")
@click.option("--by", required=True, help="Staff phone or name.")
@click.option("--note", help="How it was taken: visit, phone call, …")
@member_option
@pass_pingan
def record(
    pingan: Pingan,
    phone: str,
    temperature: str | None,
    symptoms: str | None,
    needs: tuple[str, ...],
    by: str,
    note: str | None,
    member: str | None,
) -> None:
    """Record a check-in on the resident's behalf (after a visit or a call): no more calls today.

    The answers go through the same escalation rules and service orders as a call.
    """
    celsius = _celsius(temperature)
    app = pingan.app
    settings = settings_of(app)
    with session_scope(app) as session:
        resident = find_resident(session, phone, settings.phone_region, member)
        staff = staff_ref(session, by, settings.phone_region, acting_for=resident.community_id)
        checkin = record_on_behalf(
            session,
            resident,
            celsius,
            None if symptoms is None else symptoms == "yes",
            list(needs),
            staff.name,
            clock_of(app).now(),
            settings,
            flow_of(app),
            note,
        )
        click.echo(f"check-in {checkin.id} for {resident.name}: recorded by {staff.name}")


def _celsius(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip().replace(",", "."))
    except InvalidOperation:
        raise click.BadParameter(
            f"{raw!r} is not a number such as 36.5", param_hint="--temperature"
        ) from None
    problem = temperature_problem(value)
    if problem:
        raise click.BadParameter(problem, param_hint="--temperature")
    return value.quantize(Decimal("0.1"))


@escalations.command("ack")
@click.argument("escalation_id", type=int)
@click.option("--by", required=True, help="Staff phone or name.")
@pass_pingan
def ack(pingan: Pingan, escalation_id: int, by: str) -> None:
    """Acknowledge an escalation: someone is on it (stops the reminders)."""
    app = pingan.app
    with session_scope(app) as session:
        staff = staff_ref(
            session,
            by,
            settings_of(app).phone_region,
            acting_for=_community_of(session, escalation_id),
        )
        try:
            found = acknowledge(session, escalation_id, staff.name, clock_of(app).now(), via="cli")
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"escalation {found.id} acknowledged by {staff.name}")


@escalations.command("resolve")
@click.argument("escalation_id", type=int)
@click.option("--by", required=True, help="Staff phone or name.")
@click.option("--outcome", required=True, type=click.Choice(OUTCOMES))
@click.option("--note", required=True, help="What was done.")
@pass_pingan
def resolve_(pingan: Pingan, escalation_id: int, by: str, outcome: str, note: str) -> None:
    """Resolve an escalation with its outcome and a note."""
    app = pingan.app
    with session_scope(app) as session:
        staff = staff_ref(
            session,
            by,
            settings_of(app).phone_region,
            acting_for=_community_of(session, escalation_id),
        )
        try:
            found = resolve(session, escalation_id, staff.name, outcome, note, clock_of(app).now())
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"escalation {found.id} resolved by {staff.name}: {outcome}")


def _community_of(session: Session, escalation_id: int) -> int | None:
    found = session.get(Escalation, escalation_id)
    return found.community_id if found else None  # unknown: the lifecycle says so


@escalations.command("history")
@click.argument("escalation_id", type=int)
@json_option
@pass_pingan
def history_(pingan: Pingan, escalation_id: int, as_json: bool) -> None:
    """The audit trail of one escalation: who did what, when."""
    tz = settings_of(pingan.app).tz
    with session_scope(pingan.app) as session:
        if session.get(Escalation, escalation_id) is None:
            raise click.ClickException(f"there is no escalation {escalation_id}")
        rows = [
            {
                "at": e.at.astimezone(tz).isoformat(timespec="seconds"),
                "actor": e.actor,
                "action": e.action,
                "detail": e.detail,
            }
            for e in history(session, escalation_id)
        ]
    if as_json:
        emit_json(rows)
        return
    headers = ["at", "actor", "action", "detail"]
    click.echo(format_table(headers, [[r[h] for h in headers] for r in rows]))
